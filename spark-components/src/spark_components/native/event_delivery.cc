// Event-driven spike delivery for Spark's projections, as XLA FFI custom calls on the CPU.
//
// Sparse storage is ELL by presynaptic neuron: post_index[i, k] and weight[i, k] for k < K (padding has weight 0).
// Dense storage is weight[i, j] of shape (n_pre, n_post) (absent synapses have weight 0); its kernels add the rows
// of the neurons that spiked instead of multiplying the whole matrix by the spike vector.
// Work per step is the number of spikes times the fan-out, plus one pass over the postsynaptic output; no spike is
// ever dropped.
//
// Every call also folds in the synapse's own decay: out = scale * base + delivered, where base is the synapse's
// state (e.g. its current, shape (n_post,)) and scale its decay over the step; a base of one element means "none"
// (out = delivered; pass scale 0 with it). An efficacy of one element means 1 for every presynaptic neuron (with
// one presynaptic neuron, that element is used).
#include <algorithm>
#include <cstdint>
#include <string>

#include "spikes.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

struct Projection {
  int64_t n_pre, n_post, K;
  const bool* spikes;
  const float* efficacy;  // nullptr: 1
  const int32_t* post_index;
  const float* weight;
};

ffi::Error Check(const char* who, ffi::Buffer<ffi::PRED>& spikes, ffi::Buffer<ffi::F32>& efficacy,
                 ffi::Buffer<ffi::S32>& post_index, ffi::Buffer<ffi::F32>& weight, int64_t n_post,
                 ffi::Buffer<ffi::F32>& base, Projection* p) {
  const auto dims = weight.dimensions();
  p->n_pre = spikes.element_count();
  p->n_post = n_post;
  if (dims.size() != 2 || dims[0] != p->n_pre || post_index.element_count() != weight.element_count() ||
      (efficacy.element_count() != p->n_pre && efficacy.element_count() != 1) ||
      (base.element_count() != n_post && base.element_count() != 1)) {
    return ffi::Error::InvalidArgument(std::string(who) + ": inconsistent shapes");
  }
  p->K = dims[1];
  p->spikes = spikes.typed_data();
  p->efficacy = efficacy.element_count() == p->n_pre ? efficacy.typed_data() : nullptr;
  p->post_index = post_index.typed_data();
  p->weight = weight.typed_data();
  return ffi::Error::Success();
}

// o = scale * base, or 0 when base is the one-element "none" (callers pass scale 0 with it)
void Start(float* o, int64_t n, ffi::Buffer<ffi::F32>& base, float scale) {
  if (base.element_count() == n) {
    const float* b = base.typed_data();
    for (int64_t j = 0; j < n; ++j) o[j] = scale * b[j];
  } else {
    std::fill(o, o + n, 0.0f);
  }
}

// out[j] = scale * base[j] + sum over spiking i, over k with post_index[i, k] == j, of efficacy[i] * weight[i, k]
ffi::Error Deliver(ffi::Buffer<ffi::PRED> spikes, ffi::Buffer<ffi::F32> efficacy, ffi::Buffer<ffi::S32> post_index,
                   ffi::Buffer<ffi::F32> weight, ffi::Buffer<ffi::F32> base, float scale,
                   ffi::ResultBuffer<ffi::F32> out) {
  Projection p;
  const int64_t n_post = out->element_count();
  ffi::Error err = Check("spark_deliver", spikes, efficacy, post_index, weight, n_post, base, &p);
  if (err.failure()) return err;
  float* o = out->typed_data();
  Start(o, n_post, base, scale);
  const int64_t K = p.K;
  spark::ForEachSpike(p.spikes, p.n_pre, [&](int64_t i) {
    const float e = p.efficacy ? p.efficacy[i] : 1.0f;
    const int32_t* row_idx = p.post_index + i * K;
    const float* row_w = p.weight + i * K;
    for (int64_t k = 0; k < K; ++k) {
      const int32_t j = row_idx[k];
      if (j >= 0 && j < n_post) o[j] += e * row_w[k];
    }
  });
  return ffi::Error::Success();
}

// Dense storage: out[j] = scale * base[j] + sum over spiking i of efficacy[i] * weight[i, j]
ffi::Error DeliverDense(ffi::Buffer<ffi::PRED> spikes, ffi::Buffer<ffi::F32> efficacy, ffi::Buffer<ffi::F32> weight,
                        ffi::Buffer<ffi::F32> base, float scale, ffi::ResultBuffer<ffi::F32> out) {
  const int64_t n_pre = spikes.element_count();
  const int64_t n_post = out->element_count();
  const auto dims = weight.dimensions();
  if (dims.size() != 2 || dims[0] != n_pre || dims[1] != n_post ||
      (efficacy.element_count() != n_pre && efficacy.element_count() != 1) ||
      (base.element_count() != n_post && base.element_count() != 1)) {
    return ffi::Error::InvalidArgument("spark_deliver_dense: inconsistent shapes");
  }
  const float* eff = efficacy.element_count() == n_pre ? efficacy.typed_data() : nullptr;
  const float* w = weight.typed_data();
  float* o = out->typed_data();
  Start(o, n_post, base, scale);
  spark::ForEachSpike(spikes.typed_data(), n_pre, [&](int64_t i) {
    const float* row = w + i * n_post;
    if (eff) {
      const float e = eff[i];
      for (int64_t j = 0; j < n_post; ++j) o[j] += e * row[j];
    } else {
      for (int64_t j = 0; j < n_post; ++j) o[j] += row[j];
    }
  });
  return ffi::Error::Success();
}

// Ring buffer of pending input, pending[(t + delay[i, k]) % D, post_index[i, k]] += efficacy[i] * weight[i, k];
// then out = scale * base + pending[t % D] and that slot is cleared. pending_out aliases pending_in.
ffi::Error DeliverDelayed(ffi::Buffer<ffi::PRED> spikes, ffi::Buffer<ffi::F32> efficacy,
                          ffi::Buffer<ffi::S32> post_index, ffi::Buffer<ffi::F32> weight, ffi::Buffer<ffi::F32> base,
                          ffi::Buffer<ffi::S32> delay, ffi::Buffer<ffi::F32> pending_in, ffi::Buffer<ffi::S32> clock,
                          float scale, ffi::ResultBuffer<ffi::F32> pending_out, ffi::ResultBuffer<ffi::F32> out) {
  const auto pdims = pending_in.dimensions();
  if (pdims.size() != 2) return ffi::Error::InvalidArgument("spark_deliver_delayed: pending must be (D, n_post)");
  const int64_t D = pdims[0];
  const int64_t n_post = pdims[1];
  Projection p;
  ffi::Error err = Check("spark_deliver_delayed", spikes, efficacy, post_index, weight, n_post, base, &p);
  if (err.failure()) return err;
  if (delay.element_count() != weight.element_count()) {
    return ffi::Error::InvalidArgument("spark_deliver_delayed: delay must be shaped like weight");
  }
  const int64_t K = p.K;
  const int64_t t = static_cast<int64_t>(clock.typed_data()[0]);
  const int32_t* d = delay.typed_data();
  float* pend = pending_out->typed_data();
  if (pend != pending_in.typed_data()) {
    std::copy(pending_in.typed_data(), pending_in.typed_data() + D * n_post, pend);
  }
  spark::ForEachSpike(p.spikes, p.n_pre, [&](int64_t i) {
    const float e = p.efficacy ? p.efficacy[i] : 1.0f;
    for (int64_t k = i * K; k < (i + 1) * K; ++k) {
      const int32_t j = p.post_index[k];
      if (j < 0 || j >= n_post) continue;
      const int64_t slot = (t + d[k]) % D;
      pend[slot * n_post + j] += e * p.weight[k];
    }
  });
  const int64_t now = t % D;
  float* o = out->typed_data();
  Start(o, n_post, base, scale);
  float* row = pend + now * n_post;
  for (int64_t j = 0; j < n_post; ++j) o[j] += row[j];
  std::fill(row, row + n_post, 0.0f);
  return ffi::Error::Success();
}

// The same as Deliver / DeliverDelayed, and also returns the weights unchanged, in place (the output aliases the
// input). A projection whose weights a rule then updates in place uses these, so that the weights flow from the
// delivery into the update as one chain and XLA need not copy them to keep the delivery's read safe.
void PassThrough(const ffi::Buffer<ffi::F32>& weight, ffi::ResultBuffer<ffi::F32>& weight_out) {
  if (weight_out->typed_data() != weight.typed_data()) {
    std::copy(weight.typed_data(), weight.typed_data() + weight.element_count(), weight_out->typed_data());
  }
}

ffi::Error DeliverKeep(ffi::Buffer<ffi::PRED> spikes, ffi::Buffer<ffi::F32> efficacy, ffi::Buffer<ffi::S32> post_index,
                       ffi::Buffer<ffi::F32> weight, ffi::Buffer<ffi::F32> base, float scale,
                       ffi::ResultBuffer<ffi::F32> out, ffi::ResultBuffer<ffi::F32> weight_out) {
  ffi::Error err = Deliver(spikes, efficacy, post_index, weight, base, scale, out);
  if (err.failure()) return err;
  PassThrough(weight, weight_out);
  return ffi::Error::Success();
}

ffi::Error DeliverDenseKeep(ffi::Buffer<ffi::PRED> spikes, ffi::Buffer<ffi::F32> efficacy, ffi::Buffer<ffi::F32> weight,
                            ffi::Buffer<ffi::F32> base, float scale, ffi::ResultBuffer<ffi::F32> out,
                            ffi::ResultBuffer<ffi::F32> weight_out) {
  ffi::Error err = DeliverDense(spikes, efficacy, weight, base, scale, out);
  if (err.failure()) return err;
  PassThrough(weight, weight_out);
  return ffi::Error::Success();
}

ffi::Error DeliverDelayedKeep(ffi::Buffer<ffi::PRED> spikes, ffi::Buffer<ffi::F32> efficacy,
                              ffi::Buffer<ffi::S32> post_index, ffi::Buffer<ffi::F32> weight,
                              ffi::Buffer<ffi::F32> base, ffi::Buffer<ffi::S32> delay,
                              ffi::Buffer<ffi::F32> pending_in, ffi::Buffer<ffi::S32> clock, float scale,
                              ffi::ResultBuffer<ffi::F32> pending_out, ffi::ResultBuffer<ffi::F32> out,
                              ffi::ResultBuffer<ffi::F32> weight_out) {
  ffi::Error err = DeliverDelayed(spikes, efficacy, post_index, weight, base, delay, pending_in, clock, scale,
                                  pending_out, out);
  if (err.failure()) return err;
  PassThrough(weight, weight_out);
  return ffi::Error::Success();
}


// ----- batched: B trials side by side (vmap) -----------------------------------------------------------------------
//
// spikes (B, n_pre); efficacy of one element (1 for all) or (B, n_pre); base of one element (none) or (B, n_post);
// out (B, n_post). The storage (post_index, weight, delay) is either the trials' shared arrays ((n_pre, K): a batched
// run with learning off reads one weight matrix from cache) or per trial ((B, n_pre, K): e.g. a stream whose
// re-presentation loop carries per-trial copies); each is read at its own stride, so nothing is copied.
struct Batch {
  int64_t B, n_pre, n_post;
  const bool* spikes;
  const float* efficacy;  // nullptr: 1; else (B, n_pre)
  const float* base;      // nullptr: none; else (B, n_post)
};

ffi::Error CheckBatch(const char* who, ffi::Buffer<ffi::PRED>& spikes, ffi::Buffer<ffi::F32>& efficacy,
                      ffi::Buffer<ffi::F32>& base, int64_t n_pre, int64_t n_post, int64_t B, Batch* b) {
  b->B = B;
  b->n_pre = n_pre;
  b->n_post = n_post;
  if (spikes.element_count() != B * n_pre ||
      (efficacy.element_count() != B * n_pre && efficacy.element_count() != 1) ||
      (base.element_count() != B * n_post && base.element_count() != 1)) {
    return ffi::Error::InvalidArgument(std::string(who) + ": inconsistent shapes");
  }
  b->spikes = spikes.typed_data();
  b->efficacy = efficacy.element_count() == B * n_pre ? efficacy.typed_data() : nullptr;
  b->base = base.element_count() == B * n_post ? base.typed_data() : nullptr;
  return ffi::Error::Success();
}

// Storage of shape (n_pre, K) (shared: stride 0) or (B, n_pre, K) (per trial); -1 when it is neither
template <typename T>
int64_t LaneStride(const T& buf, int64_t B, int64_t n_pre, int64_t K) {
  const auto d = buf.dimensions();
  if (d.size() == 2 && d[0] == n_pre && d[1] == K) return 0;
  if (d.size() == 3 && d[0] == B && d[1] == n_pre && d[2] == K) return n_pre * K;
  return -1;
}

// o = scale * base (lane b), or 0
void StartLane(float* o, const Batch& b, int64_t lane, float scale) {
  if (b.base) {
    const float* src = b.base + lane * b.n_post;
    for (int64_t j = 0; j < b.n_post; ++j) o[j] = scale * src[j];
  } else {
    std::fill(o, o + b.n_post, 0.0f);
  }
}

ffi::Error DeliverBatch(ffi::Buffer<ffi::PRED> spikes, ffi::Buffer<ffi::F32> efficacy,
                        ffi::Buffer<ffi::S32> post_index, ffi::Buffer<ffi::F32> weight, ffi::Buffer<ffi::F32> base,
                        float scale, ffi::ResultBuffer<ffi::F32> out) {
  const auto dims = weight.dimensions();
  const auto odims = out->dimensions();
  if (dims.size() < 2 || odims.size() != 2) return ffi::Error::InvalidArgument("spark_deliver_batch: bad ranks");
  const int64_t n_pre = dims[dims.size() - 2], K = dims[dims.size() - 1], B = odims[0], n_post = odims[1];
  const int64_t sw = LaneStride(weight, B, n_pre, K), si = LaneStride(post_index, B, n_pre, K);
  Batch b;
  ffi::Error err = CheckBatch("spark_deliver_batch", spikes, efficacy, base, n_pre, n_post, B, &b);
  if (err.failure()) return err;
  if (sw < 0 || si < 0) return ffi::Error::InvalidArgument("spark_deliver_batch: inconsistent storage shapes");
  for (int64_t lane = 0; lane < B; ++lane) {
    const int32_t* idx = post_index.typed_data() + lane * si;
    const float* w = weight.typed_data() + lane * sw;
    float* o = out->typed_data() + lane * n_post;
    StartLane(o, b, lane, scale);
    const float* eff = b.efficacy ? b.efficacy + lane * n_pre : nullptr;
    spark::ForEachSpike(b.spikes + lane * n_pre, n_pre, [&](int64_t i) {
      const float e = eff ? eff[i] : 1.0f;
      const int32_t* row_idx = idx + i * K;
      const float* row_w = w + i * K;
      for (int64_t k = 0; k < K; ++k) {
        const int32_t j = row_idx[k];
        if (j >= 0 && j < n_post) o[j] += e * row_w[k];
      }
    });
  }
  return ffi::Error::Success();
}

ffi::Error DeliverDenseBatch(ffi::Buffer<ffi::PRED> spikes, ffi::Buffer<ffi::F32> efficacy,
                             ffi::Buffer<ffi::F32> weight, ffi::Buffer<ffi::F32> base, float scale,
                             ffi::ResultBuffer<ffi::F32> out) {
  const auto dims = weight.dimensions();
  const auto odims = out->dimensions();
  if (dims.size() < 2 || odims.size() != 2) return ffi::Error::InvalidArgument("spark_deliver_dense_batch: bad ranks");
  const int64_t n_pre = dims[dims.size() - 2], B = odims[0], n_post = odims[1];
  const int64_t sw = LaneStride(weight, B, n_pre, n_post);
  Batch b;
  ffi::Error err = CheckBatch("spark_deliver_dense_batch", spikes, efficacy, base, n_pre, n_post, B, &b);
  if (err.failure()) return err;
  if (sw < 0) return ffi::Error::InvalidArgument("spark_deliver_dense_batch: inconsistent weight shape");
  for (int64_t lane = 0; lane < B; ++lane) {
    const float* w = weight.typed_data() + lane * sw;
    float* o = out->typed_data() + lane * n_post;
    StartLane(o, b, lane, scale);
    const float* eff = b.efficacy ? b.efficacy + lane * n_pre : nullptr;
    spark::ForEachSpike(b.spikes + lane * n_pre, n_pre, [&](int64_t i) {
      const float* row = w + i * n_post;
      if (eff) {
        const float e = eff[i];
        for (int64_t j = 0; j < n_post; ++j) o[j] += e * row[j];
      } else {
        for (int64_t j = 0; j < n_post; ++j) o[j] += row[j];
      }
    });
  }
  return ffi::Error::Success();
}

// pending (B, D, n_post) and clock (B,) per trial; pending_out aliases pending_in
ffi::Error DeliverDelayedBatch(ffi::Buffer<ffi::PRED> spikes, ffi::Buffer<ffi::F32> efficacy,
                               ffi::Buffer<ffi::S32> post_index, ffi::Buffer<ffi::F32> weight,
                               ffi::Buffer<ffi::F32> base, ffi::Buffer<ffi::S32> delay,
                               ffi::Buffer<ffi::F32> pending_in, ffi::Buffer<ffi::S32> clock, float scale,
                               ffi::ResultBuffer<ffi::F32> pending_out, ffi::ResultBuffer<ffi::F32> out) {
  const auto dims = weight.dimensions();
  const auto pdims = pending_in.dimensions();
  if (dims.size() < 2 || pdims.size() != 3 || clock.element_count() != pdims[0]) {
    return ffi::Error::InvalidArgument("spark_deliver_delayed_batch: bad ranks");
  }
  const int64_t n_pre = dims[dims.size() - 2], K = dims[dims.size() - 1];
  const int64_t B = pdims[0], D = pdims[1], n_post = pdims[2];
  const int64_t sw = LaneStride(weight, B, n_pre, K), si = LaneStride(post_index, B, n_pre, K),
                sd = LaneStride(delay, B, n_pre, K);
  Batch b;
  ffi::Error err = CheckBatch("spark_deliver_delayed_batch", spikes, efficacy, base, n_pre, n_post, B, &b);
  if (err.failure()) return err;
  if (sw < 0 || si < 0 || sd < 0) {
    return ffi::Error::InvalidArgument("spark_deliver_delayed_batch: inconsistent storage shapes");
  }
  float* pend_all = pending_out->typed_data();
  if (pend_all != pending_in.typed_data()) {
    std::copy(pending_in.typed_data(), pending_in.typed_data() + B * D * n_post, pend_all);
  }
  for (int64_t lane = 0; lane < B; ++lane) {
    const int32_t* idx = post_index.typed_data() + lane * si;
    const float* w = weight.typed_data() + lane * sw;
    const int32_t* d = delay.typed_data() + lane * sd;
    const int64_t t = static_cast<int64_t>(clock.typed_data()[lane]);
    float* pend = pend_all + lane * D * n_post;
    const float* eff = b.efficacy ? b.efficacy + lane * n_pre : nullptr;
    spark::ForEachSpike(b.spikes + lane * n_pre, n_pre, [&](int64_t i) {
      const float e = eff ? eff[i] : 1.0f;
      for (int64_t k = i * K; k < (i + 1) * K; ++k) {
        const int32_t j = idx[k];
        if (j < 0 || j >= n_post) continue;
        const int64_t slot = (t + d[k]) % D;
        pend[slot * n_post + j] += e * w[k];
      }
    });
    const int64_t now = t % D;
    float* o = out->typed_data() + lane * n_post;
    StartLane(o, b, lane, scale);
    float* row = pend + now * n_post;
    for (int64_t j = 0; j < n_post; ++j) o[j] += row[j];
    std::fill(row, row + n_post, 0.0f);
  }
  return ffi::Error::Success();
}

// The batched kernels with the (per-trial) weights passed through in place, like DeliverKeep
ffi::Error DeliverBatchKeep(ffi::Buffer<ffi::PRED> spikes, ffi::Buffer<ffi::F32> efficacy,
                            ffi::Buffer<ffi::S32> post_index, ffi::Buffer<ffi::F32> weight, ffi::Buffer<ffi::F32> base,
                            float scale, ffi::ResultBuffer<ffi::F32> out, ffi::ResultBuffer<ffi::F32> weight_out) {
  ffi::Error err = DeliverBatch(spikes, efficacy, post_index, weight, base, scale, out);
  if (err.failure()) return err;
  PassThrough(weight, weight_out);
  return ffi::Error::Success();
}

ffi::Error DeliverDenseBatchKeep(ffi::Buffer<ffi::PRED> spikes, ffi::Buffer<ffi::F32> efficacy,
                                 ffi::Buffer<ffi::F32> weight, ffi::Buffer<ffi::F32> base, float scale,
                                 ffi::ResultBuffer<ffi::F32> out, ffi::ResultBuffer<ffi::F32> weight_out) {
  ffi::Error err = DeliverDenseBatch(spikes, efficacy, weight, base, scale, out);
  if (err.failure()) return err;
  PassThrough(weight, weight_out);
  return ffi::Error::Success();
}

ffi::Error DeliverDelayedBatchKeep(ffi::Buffer<ffi::PRED> spikes, ffi::Buffer<ffi::F32> efficacy,
                                   ffi::Buffer<ffi::S32> post_index, ffi::Buffer<ffi::F32> weight,
                                   ffi::Buffer<ffi::F32> base, ffi::Buffer<ffi::S32> delay,
                                   ffi::Buffer<ffi::F32> pending_in, ffi::Buffer<ffi::S32> clock, float scale,
                                   ffi::ResultBuffer<ffi::F32> pending_out, ffi::ResultBuffer<ffi::F32> out,
                                   ffi::ResultBuffer<ffi::F32> weight_out) {
  ffi::Error err = DeliverDelayedBatch(spikes, efficacy, post_index, weight, base, delay, pending_in, clock, scale,
                                       pending_out, out);
  if (err.failure()) return err;
  PassThrough(weight, weight_out);
  return ffi::Error::Success();
}

}  // namespace

#define SPARK_DELIVER_ARGS                \
  Arg<ffi::Buffer<ffi::PRED>>()           \
      .Arg<ffi::Buffer<ffi::F32>>()       \
      .Arg<ffi::Buffer<ffi::S32>>()       \
      .Arg<ffi::Buffer<ffi::F32>>()       \
      .Arg<ffi::Buffer<ffi::F32>>()

#define SPARK_DELAY_ARGS                  \
  Arg<ffi::Buffer<ffi::S32>>()            \
      .Arg<ffi::Buffer<ffi::F32>>()       \
      .Arg<ffi::Buffer<ffi::S32>>()

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparkDeliver, Deliver,
                              ffi::Ffi::Bind()
                                  .SPARK_DELIVER_ARGS.Attr<float>("scale")
                                  .Ret<ffi::Buffer<ffi::F32>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparkDeliverDelayed, DeliverDelayed,
                              ffi::Ffi::Bind()
                                  .SPARK_DELIVER_ARGS.SPARK_DELAY_ARGS.Attr<float>("scale")
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparkDeliverKeep, DeliverKeep,
                              ffi::Ffi::Bind()
                                  .SPARK_DELIVER_ARGS.Attr<float>("scale")
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparkDeliverDelayedKeep, DeliverDelayedKeep,
                              ffi::Ffi::Bind()
                                  .SPARK_DELIVER_ARGS.SPARK_DELAY_ARGS.Attr<float>("scale")
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());

#define SPARK_DELIVER_DENSE_ARGS          \
  Arg<ffi::Buffer<ffi::PRED>>()           \
      .Arg<ffi::Buffer<ffi::F32>>()       \
      .Arg<ffi::Buffer<ffi::F32>>()       \
      .Arg<ffi::Buffer<ffi::F32>>()

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparkDeliverDense, DeliverDense,
                              ffi::Ffi::Bind()
                                  .SPARK_DELIVER_DENSE_ARGS.Attr<float>("scale")
                                  .Ret<ffi::Buffer<ffi::F32>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparkDeliverDenseKeep, DeliverDenseKeep,
                              ffi::Ffi::Bind()
                                  .SPARK_DELIVER_DENSE_ARGS.Attr<float>("scale")
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparkDeliverBatch, DeliverBatch,
                              ffi::Ffi::Bind()
                                  .SPARK_DELIVER_ARGS.Attr<float>("scale")
                                  .Ret<ffi::Buffer<ffi::F32>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparkDeliverDelayedBatch, DeliverDelayedBatch,
                              ffi::Ffi::Bind()
                                  .SPARK_DELIVER_ARGS.SPARK_DELAY_ARGS.Attr<float>("scale")
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparkDeliverDenseBatch, DeliverDenseBatch,
                              ffi::Ffi::Bind()
                                  .SPARK_DELIVER_DENSE_ARGS.Attr<float>("scale")
                                  .Ret<ffi::Buffer<ffi::F32>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparkDeliverBatchKeep, DeliverBatchKeep,
                              ffi::Ffi::Bind()
                                  .SPARK_DELIVER_ARGS.Attr<float>("scale")
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparkDeliverDelayedBatchKeep, DeliverDelayedBatchKeep,
                              ffi::Ffi::Bind()
                                  .SPARK_DELIVER_ARGS.SPARK_DELAY_ARGS.Attr<float>("scale")
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparkDeliverDenseBatchKeep, DeliverDenseBatchKeep,
                              ffi::Ffi::Bind()
                                  .SPARK_DELIVER_DENSE_ARGS.Attr<float>("scale")
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());
