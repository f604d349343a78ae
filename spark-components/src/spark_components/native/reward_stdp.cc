// One step of reward-modulated STDP (spark-components:reward_stdp) on dense storage, in place, as an XLA FFI custom
// call on the CPU: traces, eligibility and weights in one pass over the synapses, per lane.
//
// Per lane (B lanes: agents or trials side by side; B = 1 for one network), with f(s) = 1 if s spiked else 0:
//   x_pre[i]  <- x_pre[i] decay_plus + f(pre[i])
//   xm[j]      = x_post[j] decay_minus                                   (the postsynaptic trace before this step)
//   e[i, j]   <- e[i, j] decay_e + a_plus (x_pre[i] f(post[j]))  - a_minus (f(pre[i]) xm[j])   [mask: else + 0]
//   w[i, j]   <- clip(w[i, j] + (k m) e[i, j], w_min, w_max)                                   [mask: else 0]
//   x_post[j] <- xm[j] + f(post[j])
// with k = eta dt and m the lane's modulator. This is the rule's pure-JAX step (reward_stdp.py) operation for
// operation, in the same order and in float32, so both give the same numbers. With m = 0 the weights only get the
// clip (w + 0 e = w), so that pass skips the multiply-add. The a_minus term is computed only for rows whose
// presynaptic neuron spiked (elsewhere it subtracts 0) and only when a_minus is not 0.
//
// mask: (n_pre, n_post) per lane or shared, or one element (every synapse exists). Every other array is per lane.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

// the stride between lanes of a (B, n) or shared (n) buffer: n, 0, or -1 when the size fits neither
template <typename T>
int64_t Stride(const T& buf, int64_t B, int64_t n) {
  const int64_t count = static_cast<int64_t>(buf.element_count());
  if (count == B * n) return n;
  if (count == n) return 0;
  return -1;
}

void CopyIn(const ffi::Buffer<ffi::F32>& in, ffi::ResultBuffer<ffi::F32>& out) {
  if (out->typed_data() != in.typed_data()) {
    std::copy(in.typed_data(), in.typed_data() + in.element_count(), out->typed_data());
  }
}

// a b + c, rounded once (fused) or twice: XLA's CPU compiler fuses multiply-adds where the host has FMA, so the
// kernel does the same to give the JAX step's numbers bit for bit
template <bool kFused>
inline __attribute__((always_inline)) float Mad(float a, float b, float c) {
  if constexpr (kFused) {
    return __builtin_fmaf(a, b, c);
  } else {
    return a * b + c;
  }
}

struct Lane {
  const bool* pre;
  const bool* post;
  const bool* mask;  // nullptr: every synapse exists
  float* x_pre;
  float* x_post;
  float* e;
  float* w;
  float km;
};

struct Scratch {
  std::vector<float> postf, xm, plus;
  std::vector<int32_t> fired;
  Scratch(int64_t n_pre, int64_t n_post) : postf(n_post), xm(n_post), plus(n_pre * n_post), fired(n_post) {}
};

struct Constants {
  int64_t n_pre, n_post;
  float decay_plus, decay_minus, decay_e, a_plus, a_minus, w_min, w_max;
};

// one row (presynaptic neuron i) of eligibility and weights; kMask: read the mask row (else every synapse exists)
template <bool kFused, bool kMask>
inline __attribute__((always_inline)) void StepRow(float* __restrict__ er, float* __restrict__ wr,
                                                   const bool* __restrict__ mr, const float* __restrict__ postf,
                                                   const float* __restrict__ xm, float x, float fi, bool minus,
                                                   float km, const Constants& c) {
  const int64_t n_post = c.n_post;
  if (minus) {  // XLA does not fuse the subtraction (a select stands between it and its multiply)
    for (int64_t j = 0; j < n_post; ++j) {
      const float plus = c.a_plus * (x * postf[j]);
      const float t = Mad<kFused>(er[j], c.decay_e, kMask && !mr[j] ? 0.0f : plus);
      er[j] = t - c.a_minus * (kMask && !mr[j] ? 0.0f : fi * xm[j]);
    }
    for (int64_t j = 0; j < n_post; ++j) {
      const float v = std::min(std::max(Mad<kFused>(km, er[j], wr[j]), c.w_min), c.w_max);
      wr[j] = kMask && !mr[j] ? 0.0f : v;
    }
    return;
  }
  // one pass: eligibility, then the weight from it (with km = 0 the clip alone: w + 0 e = w)
  if (km != 0.0f) {
    for (int64_t j = 0; j < n_post; ++j) {
      const float plus = c.a_plus * (x * postf[j]);
      const float t = Mad<kFused>(er[j], c.decay_e, kMask && !mr[j] ? 0.0f : plus);
      er[j] = t;
      const float v = std::min(std::max(Mad<kFused>(km, t, wr[j]), c.w_min), c.w_max);
      wr[j] = kMask && !mr[j] ? 0.0f : v;
    }
  } else {
    for (int64_t j = 0; j < n_post; ++j) {
      const float plus = c.a_plus * (x * postf[j]);
      er[j] = Mad<kFused>(er[j], c.decay_e, kMask && !mr[j] ? 0.0f : plus);
      const float v = std::min(std::max(wr[j], c.w_min), c.w_max);
      wr[j] = kMask && !mr[j] ? 0.0f : v;
    }
  }
}

// The lane's synapses as one flat pass when no term needs its row (a_minus = 0, or no presynaptic spike), with the
// potentiation terms a_plus x_pre[i] of the few spiking postsynaptic neurons j written into plus (zero elsewhere; a
// synapse onto a silent j gets e decay_e + 0, as XLA computes it) and zeroed again afterwards.
template <bool kFused, bool kMask>
inline __attribute__((always_inline)) void FlatPass(float* __restrict__ e, float* __restrict__ w,
                                                    const float* __restrict__ plus, const bool* __restrict__ m,
                                                    int64_t n, float km, const Constants& c) {
  if (km != 0.0f) {
    for (int64_t k = 0; k < n; ++k) {
      const float t = Mad<kFused>(e[k], c.decay_e, kMask && !m[k] ? 0.0f : plus[k]);
      e[k] = t;
      const float v = std::min(std::max(Mad<kFused>(km, t, w[k]), c.w_min), c.w_max);
      w[k] = kMask && !m[k] ? 0.0f : v;
    }
  } else {  // w + 0 e = w: only the clip
    for (int64_t k = 0; k < n; ++k) {
      e[k] = Mad<kFused>(e[k], c.decay_e, kMask && !m[k] ? 0.0f : plus[k]);
      const float v = std::min(std::max(w[k], c.w_min), c.w_max);
      w[k] = kMask && !m[k] ? 0.0f : v;
    }
  }
}

template <bool kFused>
inline __attribute__((always_inline)) void FlatLane(const Lane& l, const Constants& c, const float* x,
                                                    const int32_t* fired, int64_t n_fired, float* plus) {
  const int64_t n_pre = c.n_pre, n_post = c.n_post;
  for (int64_t f = 0; f < n_fired; ++f) {
    for (int64_t i = 0; i < n_pre; ++i) plus[i * n_post + fired[f]] = c.a_plus * (x[i] * 1.0f);
  }
  if (l.mask) {
    FlatPass<kFused, true>(l.e, l.w, plus, l.mask, n_pre * n_post, l.km, c);
  } else {
    FlatPass<kFused, false>(l.e, l.w, plus, nullptr, n_pre * n_post, l.km, c);
  }
  for (int64_t f = 0; f < n_fired; ++f) {
    for (int64_t i = 0; i < n_pre; ++i) plus[i * n_post + fired[f]] = 0.0f;
  }
}

template <bool kFused>
inline __attribute__((always_inline)) void StepLane(const Lane& l, const Constants& c, Scratch& s) {
  const int64_t n_post = c.n_post;
  float* postf = s.postf.data();
  float* xm = s.xm.data();
  bool any_pre = false;
  int64_t n_fired = 0;
  for (int64_t j = 0; j < n_post; ++j) {
    postf[j] = l.post[j] ? 1.0f : 0.0f;
    xm[j] = l.x_post[j] * c.decay_minus;
    if (l.post[j]) s.fired[n_fired++] = static_cast<int32_t>(j);
  }
  for (int64_t i = 0; i < c.n_pre; ++i) {
    const float fi = l.pre[i] ? 1.0f : 0.0f;
    any_pre |= l.pre[i];
    l.x_pre[i] = Mad<kFused>(l.x_pre[i], c.decay_plus, fi);
  }
  if (c.a_minus == 0.0f || !any_pre) {
    FlatLane<kFused>(l, c, l.x_pre, s.fired.data(), n_fired, s.plus.data());
  } else {
    for (int64_t i = 0; i < c.n_pre; ++i) {
      const float fi = l.pre[i] ? 1.0f : 0.0f;
      const bool minus = l.pre[i];
      float* er = l.e + i * n_post;
      float* wr = l.w + i * n_post;
      if (l.mask) {
        StepRow<kFused, true>(er, wr, l.mask + i * n_post, postf, xm, l.x_pre[i], fi, minus, l.km, c);
      } else {
        StepRow<kFused, false>(er, wr, nullptr, postf, xm, l.x_pre[i], fi, minus, l.km, c);
      }
    }
  }
  for (int64_t j = 0; j < n_post; ++j) l.x_post[j] = Mad<kFused>(l.x_post[j], c.decay_minus, postf[j]);
}

void StepPlain(const Lane& l, const Constants& c, Scratch& s) { StepLane<false>(l, c, s); }

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("fma"))) void StepFused(const Lane& l, const Constants& c, Scratch& s) {
  StepLane<true>(l, c, s);
}
bool HostFuses() { return __builtin_cpu_supports("fma"); }
#else
void StepFused(const Lane& l, const Constants& c, Scratch& s) { StepLane<true>(l, c, s); }
bool HostFuses() { return true; }  // aarch64 and others: fused multiply-add is part of the base instruction set
#endif

ffi::Error RewardSTDPDense(ffi::Buffer<ffi::PRED> pre, ffi::Buffer<ffi::PRED> post, ffi::Buffer<ffi::PRED> mask,
                           ffi::Buffer<ffi::F32> modulator, ffi::Buffer<ffi::F32> x_pre_in,
                           ffi::Buffer<ffi::F32> x_post_in, ffi::Buffer<ffi::F32> e_in, ffi::Buffer<ffi::F32> w_in,
                           float decay_plus, float decay_minus, float decay_e, float a_plus, float a_minus, float k,
                           float w_min, float w_max, ffi::ResultBuffer<ffi::F32> x_pre,
                           ffi::ResultBuffer<ffi::F32> x_post, ffi::ResultBuffer<ffi::F32> e,
                           ffi::ResultBuffer<ffi::F32> w) {
  const auto dims = w_in.dimensions();
  if (dims.size() != 3) {
    return ffi::Error::InvalidArgument("spark_reward_stdp_dense: weights must be (B, n_pre, n_post)");
  }
  const int64_t B = dims[0], n_pre = dims[1], n_post = dims[2], n = n_pre * n_post;
  const bool all = mask.element_count() == 1;
  const int64_t s_mask = all ? 0 : Stride(mask, B, n);
  if (pre.element_count() != B * n_pre || post.element_count() != B * n_post || modulator.element_count() != B ||
      x_pre_in.element_count() != B * n_pre || x_post_in.element_count() != B * n_post ||
      e_in.element_count() != B * n || s_mask < 0) {
    return ffi::Error::InvalidArgument("spark_reward_stdp_dense: inconsistent shapes");
  }
  if (all && !mask.typed_data()[0]) return ffi::Error::InvalidArgument("spark_reward_stdp_dense: empty mask");
  CopyIn(x_pre_in, x_pre);
  CopyIn(x_post_in, x_post);
  CopyIn(e_in, e);
  CopyIn(w_in, w);
  Scratch scratch(n_pre, n_post);
  const Constants c{n_pre, n_post, decay_plus, decay_minus, decay_e, a_plus, a_minus, w_min, w_max};
  static const bool fused = HostFuses();
  for (int64_t lane = 0; lane < B; ++lane) {
    const Lane l{pre.typed_data() + lane * n_pre, post.typed_data() + lane * n_post,
                 all ? nullptr : mask.typed_data() + lane * s_mask, x_pre->typed_data() + lane * n_pre,
                 x_post->typed_data() + lane * n_post, e->typed_data() + lane * n, w->typed_data() + lane * n,
                 k * modulator.typed_data()[lane]};
    if (fused) {
      StepFused(l, c, scratch);
    } else {
      StepPlain(l, c, scratch);
    }
  }
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparkRewardSTDPDense, RewardSTDPDense,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::PRED>>()
                                  .Arg<ffi::Buffer<ffi::PRED>>()
                                  .Arg<ffi::Buffer<ffi::PRED>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Attr<float>("decay_plus")
                                  .Attr<float>("decay_minus")
                                  .Attr<float>("decay_e")
                                  .Attr<float>("a_plus")
                                  .Attr<float>("a_minus")
                                  .Attr<float>("k")
                                  .Attr<float>("w_min")
                                  .Attr<float>("w_max")
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());
