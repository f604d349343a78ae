// Spike-triggered weight updates for Spark's sparse projections (pair STDP and its relatives), in place, as an
// XLA FFI custom call on the CPU.
//
// Storage is ELL by presynaptic neuron (post_index[i, k], weight[i, k], mask[i, k]; K slots per row) plus a
// column index: col_syn[col_ptr[j] .. col_ptr[j + 1]) are the flat slots i * K + k of the synapses onto j.
// Each step:
//   for each spiking presynaptic i, each synapse (i, k):   w[i, k] += on_pre[post_index[i, k]]
//   for each spiking postsynaptic j, each synapse s onto j: w[s]    += on_post[s / K]
// and then the synapses so touched are clipped to [w_min, w_max]. Work grows with spikes x fan-out/fan-in.
// Padding slots (mask false) are never touched.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "spikes.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

ffi::Error SpikeUpdate(ffi::Buffer<ffi::PRED> pre, ffi::Buffer<ffi::PRED> post, ffi::Buffer<ffi::F32> on_pre,
                       ffi::Buffer<ffi::F32> on_post, ffi::Buffer<ffi::S32> post_index, ffi::Buffer<ffi::PRED> mask,
                       ffi::Buffer<ffi::S32> col_ptr, ffi::Buffer<ffi::S32> col_syn, ffi::Buffer<ffi::F32> weight_in,
                       float w_min, float w_max, ffi::ResultBuffer<ffi::F32> weight_out) {
  const int64_t n_pre = pre.element_count();
  const int64_t n_post = post.element_count();
  const auto dims = weight_in.dimensions();
  if (dims.size() != 2 || dims[0] != n_pre || post_index.element_count() != weight_in.element_count() ||
      mask.element_count() != weight_in.element_count() || col_ptr.element_count() != n_post + 1 ||
      on_pre.element_count() != n_post || on_post.element_count() != n_pre) {
    return ffi::Error::InvalidArgument("spark_spike_update: inconsistent shapes");
  }
  const int64_t K = dims[1];
  const bool* s_pre = pre.typed_data();
  const bool* s_post = post.typed_data();
  const float* a = on_pre.typed_data();
  const float* b = on_post.typed_data();
  const int32_t* idx = post_index.typed_data();
  const bool* m = mask.typed_data();
  const int32_t* cp = col_ptr.typed_data();
  const int32_t* cs = col_syn.typed_data();
  float* w = weight_out->typed_data();
  if (w != weight_in.typed_data()) {
    std::copy(weight_in.typed_data(), weight_in.typed_data() + weight_in.element_count(), w);
  }
  // this step's spiking neurons, found in one pass each (spikes are sparse: most steps have a few)
  thread_local std::vector<int32_t> fired_pre, fired_post;
  fired_pre.clear();
  fired_post.clear();
  spark::ForEachSpike(s_pre, n_pre, [&](int64_t i) { fired_pre.push_back(static_cast<int32_t>(i)); });
  spark::ForEachSpike(s_post, n_post, [&](int64_t j) { fired_post.push_back(static_cast<int32_t>(j)); });
  // Row changes first, then column changes, each synapse clipped once after its last change: a synapse whose
  // postsynaptic neuron also fired is clipped in the column pass.
  for (const int32_t i : fired_pre) {
    for (int64_t k = i * K; k < (i + 1) * K; ++k) {
      if (!m[k]) continue;
      const int32_t j = idx[k];
      w[k] += a[j];
      if (!s_post[j]) w[k] = std::min(std::max(w[k], w_min), w_max);
    }
  }
  for (const int32_t j : fired_post) {
    for (int32_t c = cp[j]; c < cp[j + 1]; ++c) {
      const int32_t s = cs[c];
      w[s] = std::min(std::max(w[s] + b[s / K], w_min), w_max);
    }
  }
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparkSpikeUpdate, SpikeUpdate,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::PRED>>()
                                  .Arg<ffi::Buffer<ffi::PRED>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::S32>>()
                                  .Arg<ffi::Buffer<ffi::PRED>>()
                                  .Arg<ffi::Buffer<ffi::S32>>()
                                  .Arg<ffi::Buffer<ffi::S32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Attr<float>("w_min")
                                  .Attr<float>("w_max")
                                  .Ret<ffi::Buffer<ffi::F32>>());
