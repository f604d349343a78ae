// Spike-triggered weight updates for Spark's projections (pair STDP, triplet STDP and their relatives), in place, as
// XLA FFI custom calls on the CPU.
//
// Each step:
//   for each spiking presynaptic i, each synapse (i, j):   w[i, j] += pre_gain[i] * on_pre[j]
//   for each spiking postsynaptic j, each synapse (i, j):  w[i, j] += on_post[i] * post_gain[j]
// and then the synapses so touched are clipped to [w_min, w_max], each once after its last change. Work grows with
// spikes x fan-out/fan-in. A gain of one element means 1 for every neuron (with one neuron, that element is used);
// pair STDP passes no gains, triplet STDP's potentiation r1[i] (a2_plus + a3_plus o2[j]) needs post_gain.
//
// Sparse storage (SparkSpikeUpdate) is ELL by presynaptic neuron (post_index[i, k], weight[i, k], mask[i, k]; K
// slots per row) plus a column index: col_syn[col_ptr[j] .. col_ptr[j + 1]) are the flat slots i * K + k of the
// synapses onto j. Dense storage (SparkSpikeUpdateDense) is weight[i, j] and mask[i, j] of shape (n_pre, n_post)
// (a one-element mask: every synapse exists): rows are contiguous, a column is strided. Absent synapses (mask false,
// padding) are never touched.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "spikes.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

// gain[i], or 1 everywhere for a one-element "none"
struct Gain {
  const float* g;
  bool per_neuron;
  float operator[](int64_t i) const { return per_neuron ? g[i] : g[0]; }
};

bool MakeGain(const ffi::Buffer<ffi::F32>& buf, int64_t n, Gain* out) {
  if (buf.element_count() != n && buf.element_count() != 1) return false;
  *out = Gain{buf.typed_data(), buf.element_count() == n};
  return true;
}

inline float Clip(float x, float lo, float hi) { return std::min(std::max(x, lo), hi); }

void CopyIn(const ffi::Buffer<ffi::F32>& weight_in, ffi::ResultBuffer<ffi::F32>& weight_out) {
  if (weight_out->typed_data() != weight_in.typed_data()) {
    std::copy(weight_in.typed_data(), weight_in.typed_data() + weight_in.element_count(), weight_out->typed_data());
  }
}

// this step's spiking neurons, found in one pass each (spikes are sparse: most steps have a few)
void Fired(const bool* s, int64_t n, std::vector<int32_t>* out) {
  out->clear();
  spark::ForEachSpike(s, n, [&](int64_t i) { out->push_back(static_cast<int32_t>(i)); });
}

bool LaneGain(const ffi::Buffer<ffi::F32>& buf, int64_t B, int64_t n, int64_t lane, Gain* out) {
  if (buf.element_count() == 1) {
    *out = Gain{buf.typed_data(), false};
    return true;
  }
  if (buf.element_count() != B * n) return false;
  *out = Gain{buf.typed_data() + lane * n, true};
  return true;
}

// the stride between lanes of storage with `per` elements per lane: 0 (shared) or per; -1 when neither
template <typename T>
int64_t StorageStride(const T& buf, int64_t B, int64_t per) {
  if (buf.element_count() == per) return 0;
  if (buf.element_count() == B * per) return per;
  return -1;
}

// One network's sparse update (the storage of one lane)
void SparseLane(const bool* s_pre, const bool* s_post, const float* a, const float* b, Gain gi, Gain gj,
                const int32_t* idx, const bool* m, const int32_t* cp, const int32_t* cs, float* w, int64_t n_pre,
                int64_t n_post, int64_t K, float w_min, float w_max) {
  thread_local std::vector<int32_t> fired_pre, fired_post;
  Fired(s_pre, n_pre, &fired_pre);
  Fired(s_post, n_post, &fired_post);
  // Row changes first, then column changes, each synapse clipped once after its last change: a synapse whose
  // postsynaptic neuron also fired is clipped in the column pass.
  for (const int32_t i : fired_pre) {
    const float g = gi[i];
    for (int64_t k = i * K; k < (i + 1) * K; ++k) {
      if (!m[k]) continue;
      const int32_t j = idx[k];
      w[k] += g * a[j];
      if (!s_post[j]) w[k] = Clip(w[k], w_min, w_max);
    }
  }
  for (const int32_t j : fired_post) {
    const float g = gj[j];
    for (int32_t c = cp[j]; c < cp[j + 1]; ++c) {
      const int32_t s = cs[c];
      w[s] = Clip(w[s] + b[s / K] * g, w_min, w_max);
    }
  }
}

ffi::Error SpikeUpdate(ffi::Buffer<ffi::PRED> pre, ffi::Buffer<ffi::PRED> post, ffi::Buffer<ffi::F32> on_pre,
                       ffi::Buffer<ffi::F32> on_post, ffi::Buffer<ffi::F32> pre_gain, ffi::Buffer<ffi::F32> post_gain,
                       ffi::Buffer<ffi::S32> post_index, ffi::Buffer<ffi::PRED> mask, ffi::Buffer<ffi::S32> col_ptr,
                       ffi::Buffer<ffi::S32> col_syn, ffi::Buffer<ffi::F32> weight_in, float w_min, float w_max,
                       ffi::ResultBuffer<ffi::F32> weight_out) {
  const int64_t n_pre = pre.element_count();
  const int64_t n_post = post.element_count();
  const auto dims = weight_in.dimensions();
  Gain gi, gj;
  if (dims.size() != 2 || dims[0] != n_pre || post_index.element_count() != weight_in.element_count() ||
      mask.element_count() != weight_in.element_count() || col_ptr.element_count() != n_post + 1 ||
      on_pre.element_count() != n_post || on_post.element_count() != n_pre || !MakeGain(pre_gain, n_pre, &gi) ||
      !MakeGain(post_gain, n_post, &gj)) {
    return ffi::Error::InvalidArgument("spark_spike_update: inconsistent shapes");
  }
  CopyIn(weight_in, weight_out);
  SparseLane(pre.typed_data(), post.typed_data(), on_pre.typed_data(), on_post.typed_data(), gi, gj,
             post_index.typed_data(), mask.typed_data(), col_ptr.typed_data(), col_syn.typed_data(),
             weight_out->typed_data(), n_pre, n_post, dims[1], w_min, w_max);
  return ffi::Error::Success();
}

ffi::Error SpikeUpdateBatch(ffi::Buffer<ffi::PRED> pre, ffi::Buffer<ffi::PRED> post, ffi::Buffer<ffi::F32> on_pre,
                            ffi::Buffer<ffi::F32> on_post, ffi::Buffer<ffi::F32> pre_gain,
                            ffi::Buffer<ffi::F32> post_gain, ffi::Buffer<ffi::S32> post_index,
                            ffi::Buffer<ffi::PRED> mask, ffi::Buffer<ffi::S32> col_ptr, ffi::Buffer<ffi::S32> col_syn,
                            ffi::Buffer<ffi::F32> weight_in, float w_min, float w_max,
                            ffi::ResultBuffer<ffi::F32> weight_out) {
  const auto dims = weight_in.dimensions();
  if (dims.size() != 3) return ffi::Error::InvalidArgument("spark_spike_update_batch: weights not (B, pre, K)");
  const int64_t B = dims[0], n_pre = dims[1], K = dims[2];
  if (pre.element_count() % B != 0 || post.element_count() % B != 0) {
    return ffi::Error::InvalidArgument("spark_spike_update_batch: inconsistent shapes");
  }
  const int64_t n_post = post.element_count() / B;
  const int64_t si = StorageStride(post_index, B, n_pre * K), sm = StorageStride(mask, B, n_pre * K);
  const int64_t sp = StorageStride(col_ptr, B, n_post + 1);
  const int64_t n_syn = col_ptr.element_count() == n_post + 1 ? col_syn.element_count()
                                                              : col_syn.element_count() / B;
  const int64_t ss = StorageStride(col_syn, B, n_syn);
  if (pre.element_count() != B * n_pre || on_pre.element_count() != B * n_post ||
      on_post.element_count() != B * n_pre || si < 0 || sm < 0 || sp < 0 || ss < 0) {
    return ffi::Error::InvalidArgument("spark_spike_update_batch: inconsistent shapes");
  }
  CopyIn(weight_in, weight_out);
  for (int64_t lane = 0; lane < B; ++lane) {
    Gain gi, gj;
    if (!LaneGain(pre_gain, B, n_pre, lane, &gi) || !LaneGain(post_gain, B, n_post, lane, &gj)) {
      return ffi::Error::InvalidArgument("spark_spike_update_batch: inconsistent gain shapes");
    }
    SparseLane(pre.typed_data() + lane * n_pre, post.typed_data() + lane * n_post,
               on_pre.typed_data() + lane * n_post, on_post.typed_data() + lane * n_pre, gi, gj,
               post_index.typed_data() + lane * si, mask.typed_data() + lane * sm, col_ptr.typed_data() + lane * sp,
               col_syn.typed_data() + lane * ss, weight_out->typed_data() + lane * n_pre * K, n_pre, n_post, K, w_min,
               w_max);
  }
  return ffi::Error::Success();
}

// One network's dense update (the storage of one lane); m == nullptr: every synapse exists
void DenseLane(const bool* s_pre, const bool* s_post, const float* a, const float* b, Gain gi, Gain gj, const bool* m,
               float* w, int64_t n_pre, int64_t n_post, float w_min, float w_max) {
  thread_local std::vector<int32_t> fired_post;
  Fired(s_post, n_post, &fired_post);
  const bool any_post = !fired_post.empty();
  spark::ForEachSpike(s_pre, n_pre, [&](int64_t i) {
    const float g = gi[i];
    float* __restrict__ row = w + i * n_post;
    if (m == nullptr && !any_post) {  // the common step: a plain loop the compiler vectorises
      for (int64_t j = 0; j < n_post; ++j) row[j] = Clip(row[j] + g * a[j], w_min, w_max);
      return;
    }
    for (int64_t j = 0; j < n_post; ++j) {
      if (m != nullptr && !m[i * n_post + j]) continue;
      const float x = row[j] + g * a[j];
      row[j] = s_post[j] ? x : Clip(x, w_min, w_max);  // a synapse whose post neuron fired is clipped below
    }
  });
  for (const int32_t j : fired_post) {
    const float g = gj[j];
    for (int64_t i = 0; i < n_pre; ++i) {
      const int64_t k = i * n_post + j;
      if (m == nullptr || m[k]) w[k] = Clip(w[k] + b[i] * g, w_min, w_max);
    }
  }
}

ffi::Error SpikeUpdateDense(ffi::Buffer<ffi::PRED> pre, ffi::Buffer<ffi::PRED> post, ffi::Buffer<ffi::F32> on_pre,
                            ffi::Buffer<ffi::F32> on_post, ffi::Buffer<ffi::F32> pre_gain,
                            ffi::Buffer<ffi::F32> post_gain, ffi::Buffer<ffi::PRED> mask,
                            ffi::Buffer<ffi::F32> weight_in, float w_min, float w_max,
                            ffi::ResultBuffer<ffi::F32> weight_out) {
  const int64_t n_pre = pre.element_count();
  const int64_t n_post = post.element_count();
  const auto dims = weight_in.dimensions();
  Gain gi, gj;
  if (dims.size() != 2 || dims[0] != n_pre || dims[1] != n_post ||
      (mask.element_count() != n_pre * n_post && mask.element_count() != 1) ||
      on_pre.element_count() != n_post || on_post.element_count() != n_pre || !MakeGain(pre_gain, n_pre, &gi) ||
      !MakeGain(post_gain, n_post, &gj)) {
    return ffi::Error::InvalidArgument("spark_spike_update_dense: inconsistent shapes");
  }
  CopyIn(weight_in, weight_out);
  DenseLane(pre.typed_data(), post.typed_data(), on_pre.typed_data(), on_post.typed_data(), gi, gj,
            mask.element_count() == n_pre * n_post ? mask.typed_data() : nullptr, weight_out->typed_data(), n_pre,
            n_post, w_min, w_max);
  return ffi::Error::Success();
}

// ----- batched: B networks side by side (vmap over independent networks that learn) -----------------------------
//
// Every per-neuron argument is per lane: pre (B, n_pre), post (B, n_post), on_pre (B, n_post), on_post (B, n_pre);
// a gain is one element (1 for all) or (B, n); the weights are (B, ...) and updated in place, lane after lane. The
// storage (dense mask; sparse post_index, mask, col_ptr, col_syn) is shared by the lanes (one copy: stride 0) or
// per lane, each read at its own stride, so nothing is copied.

ffi::Error SpikeUpdateDenseBatch(ffi::Buffer<ffi::PRED> pre, ffi::Buffer<ffi::PRED> post,
                                 ffi::Buffer<ffi::F32> on_pre, ffi::Buffer<ffi::F32> on_post,
                                 ffi::Buffer<ffi::F32> pre_gain, ffi::Buffer<ffi::F32> post_gain,
                                 ffi::Buffer<ffi::PRED> mask, ffi::Buffer<ffi::F32> weight_in, float w_min,
                                 float w_max, ffi::ResultBuffer<ffi::F32> weight_out) {
  const auto dims = weight_in.dimensions();
  if (dims.size() != 3) return ffi::Error::InvalidArgument("spark_spike_update_dense_batch: weights not (B, pre, post)");
  const int64_t B = dims[0], n_pre = dims[1], n_post = dims[2];
  const int64_t sm = mask.element_count() == 1 ? 0 : StorageStride(mask, B, n_pre * n_post);
  if (pre.element_count() != B * n_pre || post.element_count() != B * n_post ||
      on_pre.element_count() != B * n_post || on_post.element_count() != B * n_pre || sm < 0) {
    return ffi::Error::InvalidArgument("spark_spike_update_dense_batch: inconsistent shapes");
  }
  CopyIn(weight_in, weight_out);
  for (int64_t lane = 0; lane < B; ++lane) {
    Gain gi, gj;
    if (!LaneGain(pre_gain, B, n_pre, lane, &gi) || !LaneGain(post_gain, B, n_post, lane, &gj)) {
      return ffi::Error::InvalidArgument("spark_spike_update_dense_batch: inconsistent gain shapes");
    }
    DenseLane(pre.typed_data() + lane * n_pre, post.typed_data() + lane * n_post, on_pre.typed_data() + lane * n_post,
              on_post.typed_data() + lane * n_pre, gi, gj,
              mask.element_count() == 1 ? nullptr : mask.typed_data() + lane * sm,
              weight_out->typed_data() + lane * n_pre * n_post, n_pre, n_post, w_min, w_max);
  }
  return ffi::Error::Success();
}

}  // namespace

// pre, post, on_pre, on_post, pre_gain, post_gain (per lane in the batched kernels: leading axis B)
#define SPARK_SPIKE_ARGS                  \
  Arg<ffi::Buffer<ffi::PRED>>()           \
      .Arg<ffi::Buffer<ffi::PRED>>()      \
      .Arg<ffi::Buffer<ffi::F32>>()       \
      .Arg<ffi::Buffer<ffi::F32>>()       \
      .Arg<ffi::Buffer<ffi::F32>>()       \
      .Arg<ffi::Buffer<ffi::F32>>()

// sparse storage: post_index, mask, col_ptr, col_syn, weight; then the bounds
#define SPARK_SPARSE_UPDATE_ARGS          \
  Arg<ffi::Buffer<ffi::S32>>()            \
      .Arg<ffi::Buffer<ffi::PRED>>()      \
      .Arg<ffi::Buffer<ffi::S32>>()       \
      .Arg<ffi::Buffer<ffi::S32>>()       \
      .Arg<ffi::Buffer<ffi::F32>>()       \
      .Attr<float>("w_min")               \
      .Attr<float>("w_max")

// dense storage: mask, weight; then the bounds
#define SPARK_DENSE_UPDATE_ARGS           \
  Arg<ffi::Buffer<ffi::PRED>>()           \
      .Arg<ffi::Buffer<ffi::F32>>()       \
      .Attr<float>("w_min")               \
      .Attr<float>("w_max")

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparkSpikeUpdate, SpikeUpdate,
                              ffi::Ffi::Bind().SPARK_SPIKE_ARGS.SPARK_SPARSE_UPDATE_ARGS.Ret<ffi::Buffer<ffi::F32>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparkSpikeUpdateDense, SpikeUpdateDense,
                              ffi::Ffi::Bind().SPARK_SPIKE_ARGS.SPARK_DENSE_UPDATE_ARGS.Ret<ffi::Buffer<ffi::F32>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparkSpikeUpdateBatch, SpikeUpdateBatch,
                              ffi::Ffi::Bind().SPARK_SPIKE_ARGS.SPARK_SPARSE_UPDATE_ARGS.Ret<ffi::Buffer<ffi::F32>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparkSpikeUpdateDenseBatch, SpikeUpdateDenseBatch,
                              ffi::Ffi::Bind().SPARK_SPIKE_ARGS.SPARK_DENSE_UPDATE_ARGS.Ret<ffi::Buffer<ffi::F32>>());
