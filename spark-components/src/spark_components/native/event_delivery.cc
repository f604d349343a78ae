// Event-driven spike delivery for Spark's sparse projections, as XLA FFI custom calls on the CPU.
//
// Storage is ELL by presynaptic neuron: post_index[i, k] and weight[i, k] for k < K (padding has weight 0).
// Work per step is the number of spikes times the fan-out; no spike is ever dropped.
#include <algorithm>
#include <cstdint>

#include "spikes.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

// out[j] = sum over spiking i, over k with post_index[i, k] == j, of efficacy[i] * weight[i, k]
ffi::Error Deliver(ffi::Buffer<ffi::PRED> spikes, ffi::Buffer<ffi::F32> efficacy, ffi::Buffer<ffi::S32> post_index,
                   ffi::Buffer<ffi::F32> weight, ffi::ResultBuffer<ffi::F32> out) {
  const int64_t n_pre = spikes.element_count();
  const auto dims = weight.dimensions();
  if (dims.size() != 2 || dims[0] != n_pre || post_index.element_count() != weight.element_count()) {
    return ffi::Error::InvalidArgument("spark_deliver: weight/post_index must be (n_pre, K)");
  }
  const int64_t K = dims[1];
  const int64_t n_post = out->element_count();
  const bool* s = spikes.typed_data();
  const float* e = efficacy.typed_data();
  const int32_t* idx = post_index.typed_data();
  const float* w = weight.typed_data();
  float* o = out->typed_data();
  std::fill(o, o + n_post, 0.0f);
  spark::ForEachSpike(s, n_pre, [&](int64_t i) {
    const float scale = e[i];
    const int32_t* row_idx = idx + i * K;
    const float* row_w = w + i * K;
    for (int64_t k = 0; k < K; ++k) {
      const int32_t j = row_idx[k];
      if (j >= 0 && j < n_post) o[j] += scale * row_w[k];
    }
  });
  return ffi::Error::Success();
}

// Ring buffer of pending input, pending[(t + delay[i, k]) % D, post_index[i, k]] += efficacy[i] * weight[i, k];
// then out = pending[t % D] and that slot is cleared. pending_out aliases pending_in.
ffi::Error DeliverDelayed(ffi::Buffer<ffi::PRED> spikes, ffi::Buffer<ffi::F32> efficacy,
                          ffi::Buffer<ffi::S32> post_index, ffi::Buffer<ffi::F32> weight, ffi::Buffer<ffi::S32> delay,
                          ffi::Buffer<ffi::F32> pending_in, ffi::Buffer<ffi::S32> clock,
                          ffi::ResultBuffer<ffi::F32> pending_out, ffi::ResultBuffer<ffi::F32> out) {
  const int64_t n_pre = spikes.element_count();
  const auto dims = weight.dimensions();
  const auto pdims = pending_in.dimensions();
  if (dims.size() != 2 || dims[0] != n_pre || pdims.size() != 2) {
    return ffi::Error::InvalidArgument("spark_deliver_delayed: bad shapes");
  }
  const int64_t K = dims[1];
  const int64_t D = pdims[0];
  const int64_t n_post = pdims[1];
  const int64_t t = static_cast<int64_t>(clock.typed_data()[0]);
  const bool* s = spikes.typed_data();
  const float* e = efficacy.typed_data();
  const int32_t* idx = post_index.typed_data();
  const float* w = weight.typed_data();
  const int32_t* d = delay.typed_data();
  float* p = pending_out->typed_data();
  if (p != pending_in.typed_data()) std::copy(pending_in.typed_data(), pending_in.typed_data() + D * n_post, p);
  spark::ForEachSpike(s, n_pre, [&](int64_t i) {
    const float scale = e[i];
    for (int64_t k = i * K; k < (i + 1) * K; ++k) {
      const int32_t j = idx[k];
      if (j < 0 || j >= n_post) continue;
      const int64_t slot = (t + d[k]) % D;
      p[slot * n_post + j] += scale * w[k];
    }
  });
  const int64_t now = t % D;
  float* o = out->typed_data();
  std::copy(p + now * n_post, p + (now + 1) * n_post, o);
  std::fill(p + now * n_post, p + (now + 1) * n_post, 0.0f);
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
                       ffi::Buffer<ffi::F32> weight, ffi::ResultBuffer<ffi::F32> out,
                       ffi::ResultBuffer<ffi::F32> weight_out) {
  ffi::Error err = Deliver(spikes, efficacy, post_index, weight, out);
  if (err.failure()) return err;
  PassThrough(weight, weight_out);
  return ffi::Error::Success();
}

ffi::Error DeliverDelayedKeep(ffi::Buffer<ffi::PRED> spikes, ffi::Buffer<ffi::F32> efficacy,
                              ffi::Buffer<ffi::S32> post_index, ffi::Buffer<ffi::F32> weight,
                              ffi::Buffer<ffi::S32> delay, ffi::Buffer<ffi::F32> pending_in,
                              ffi::Buffer<ffi::S32> clock, ffi::ResultBuffer<ffi::F32> pending_out,
                              ffi::ResultBuffer<ffi::F32> out, ffi::ResultBuffer<ffi::F32> weight_out) {
  ffi::Error err = DeliverDelayed(spikes, efficacy, post_index, weight, delay, pending_in, clock, pending_out, out);
  if (err.failure()) return err;
  PassThrough(weight, weight_out);
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparkDeliver, Deliver,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::PRED>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::S32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparkDeliverDelayed, DeliverDelayed,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::PRED>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::S32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::S32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::S32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparkDeliverKeep, DeliverKeep,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::PRED>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::S32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparkDeliverDelayedKeep, DeliverDelayedKeep,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::PRED>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::S32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::S32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::S32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());
