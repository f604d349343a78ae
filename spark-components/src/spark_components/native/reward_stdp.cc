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
// clip (w + 0 e = w). The potentiation and depression terms are nonzero only in the columns of spiking postsynaptic
// and the rows of spiking presynaptic neurons: they are written into scratch buffers, then one flat pass does the rest
// (FlatPass); without mask and depression term, fused hosts take RowPass instead, which needs no scratch buffer.
//
// mask: (n_pre, n_post) per lane or shared, or one element (every synapse exists). Every other array is per lane.
#include <algorithm>
#include <cstdint>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

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
// kernel does the same to give the JAX step's numbers bit for bit. Where the host also has AVX-512, LLVM folds the
// mask's select into the subtraction of the depression term (x - select(m, y, 0) -> select(m, x - y, x), a masked
// operation) and then fuses that subtraction with its multiplication too: the kernel's kFoldMinus variant.
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

// Per thread, kept between calls (no allocation per step); plus and minus are all zero between calls.
struct Scratch {
  std::vector<float> xm, plus, minus, ax;
  std::vector<int32_t> fired;
  std::vector<uint32_t> column;  // RowPass: all bits set where the postsynaptic neuron fired, else 0
  void Fit(int64_t n_pre, int64_t n_post) {
    if (static_cast<int64_t>(xm.size()) < n_post) {
      xm.resize(n_post);
      fired.resize(n_post);
      column.resize(n_post);
    }
    if (static_cast<int64_t>(ax.size()) < n_pre) ax.resize(n_pre);
    if (static_cast<int64_t>(plus.size()) < n_pre * n_post) {  // new elements are zero, as the invariant wants
      plus.resize(n_pre * n_post);
      minus.resize(n_pre * n_post);
    }
  }
};

struct Constants {
  int64_t n_pre, n_post;
  float decay_plus, decay_minus, decay_e, a_plus, a_minus, w_min, w_max;
};

// One flat pass over a lane's synapses. plus[k] holds a_plus x_pre[i] f(post[j]) and minus[k] a_minus f(pre[i]) xm[j]
// (kFoldMinus: f(pre[i]) xm[j]), zero where the neuron is silent, so the terms add or subtract an exact 0 there, as
// XLA computes them:
//   e <- fma(e, decay_e, plus) - minus   (XLA fuses the first, not the subtraction: a select stands between)
//   e <- fma(-a_minus, minus, fma(e, decay_e, plus))   (kFoldMinus: AVX-512 hosts, where the select is folded away)
//   w <- clip(fma(km, e, w))             (km = 0: w + 0 e = w, the clip alone)
// kMask: absent synapses get 0 terms and weight 0; kMinus: the depression term exists (a_minus != 0, a pre spike);
// kWrite: km != 0.
template <bool kFused, bool kFoldMinus, bool kMask, bool kMinus, bool kWrite>
inline __attribute__((always_inline)) void FlatPass(float* __restrict__ e, float* __restrict__ w,
                                                    const float* __restrict__ plus, const float* __restrict__ minus,
                                                    const bool* __restrict__ m, int64_t n, float km,
                                                    const Constants& c) {
  for (int64_t k = 0; k < n; ++k) {
    const bool off = kMask && !m[k];
    float t = Mad<kFused>(e[k], c.decay_e, off ? 0.0f : plus[k]);
    if constexpr (kMinus && kFoldMinus) t = Mad<kFused>(-c.a_minus, off ? 0.0f : minus[k], t);
    if constexpr (kMinus && !kFoldMinus) t = t - (off ? 0.0f : minus[k]);
    e[k] = t;
    const float v = std::min(std::max(kWrite ? Mad<kFused>(km, t, w[k]) : w[k], c.w_min), c.w_max);
    w[k] = off ? 0.0f : v;
  }
}

// The pass of a step without mask and depression term (a_minus = 0 or no presynaptic spike) as fused hosts compute
// it, row by row and without the scratch buffer: the potentiation term of synapse (i, j) is ax[i] = a_plus x_pre[i]
// where postsynaptic neuron j fired (fired[j]: all bits set), else +0, the numbers FlatPass reads from plus.
//   e[i, j] <- fma(e[i, j], decay_e, term)
//   w[i, j] <- clip(fma(km, e[i, j], w[i, j]))   (kWrite: km != 0)
// Without kWrite (most steps: the modulator is 0) the weights are only read, and the function returns whether
// clip(w, w_min, w_max) leaves every one as it is (no w < w_min or w > w_max; a NaN stays NaN), in which case storing
// the clipped weights would store each as it is; the caller clips them otherwise. (The weights' stores were half the
// pass's time, and writing and clearing the scratch's columns a third of the rest.) kWrite returns true.
// std::max(v, lo) is (v < lo ? lo : v), which is _mm256_max_ps(lo, v) for every v (NaN and signed zeros included),
// and std::min(v, hi) is _mm256_min_ps(hi, v).
// one synapse of RowPass: e <- fma(e, decay_e, term), then w as above (inside: cleared if w is out of bounds)
template <bool kWrite>
inline __attribute__((always_inline)) void RowElement(float& e, float& w, float term, float km, const Constants& c,
                                                      bool& inside) {
  const float t = __builtin_fmaf(e, c.decay_e, term);
  e = t;
  if constexpr (kWrite) {
    w = std::min(std::max(__builtin_fmaf(km, t, w), c.w_min), c.w_max);
  } else {
    inside &= !(w < c.w_min) && !(w > c.w_max);
  }
}

#if defined(__x86_64__) || defined(__i386__)
template <bool kWrite>
__attribute__((target("fma"))) bool RowPass(float* __restrict__ e, float* __restrict__ w, const float* __restrict__ ax,
                                            const uint32_t* __restrict__ fired, int64_t n_pre, int64_t n_post,
                                            float km, const Constants& c) {
  const __m256 d = _mm256_set1_ps(c.decay_e), lo = _mm256_set1_ps(c.w_min), hi = _mm256_set1_ps(c.w_max),
               k8 = _mm256_set1_ps(km);
  __m256 low = lo, high = hi;  // without kWrite: min and max of the weights (vminps and vmaxps skip a NaN)
  __m128 low4 = _mm256_castps256_ps128(lo), high4 = _mm256_castps256_ps128(hi);
  bool inside = true;
  for (int64_t i = 0; i < n_pre; ++i) {
    float* er = e + i * n_post;
    float* wr = w + i * n_post;
    const __m256 a = _mm256_set1_ps(ax[i]);
    int64_t j = 0;
    for (; j + 8 <= n_post; j += 8) {
      const __m256 term = _mm256_and_ps(_mm256_castsi256_ps(_mm256_loadu_si256(
                                            reinterpret_cast<const __m256i*>(fired + j))), a);
      const __m256 t = _mm256_fmadd_ps(_mm256_loadu_ps(er + j), d, term);
      _mm256_storeu_ps(er + j, t);
      const __m256 v = _mm256_loadu_ps(wr + j);
      if constexpr (kWrite) {
        _mm256_storeu_ps(wr + j, _mm256_min_ps(hi, _mm256_max_ps(lo, _mm256_fmadd_ps(k8, t, v))));
      } else {
        low = _mm256_min_ps(v, low);
        high = _mm256_max_ps(v, high);
      }
    }
    if (j + 4 <= n_post) {  // four more (rows of 20: two of eight and one of four)
      const __m128 term = _mm_and_ps(_mm_castsi128_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(fired + j))),
                                     _mm256_castps256_ps128(a));
      const __m128 t = _mm_fmadd_ps(_mm_loadu_ps(er + j), _mm256_castps256_ps128(d), term);
      _mm_storeu_ps(er + j, t);
      const __m128 v = _mm_loadu_ps(wr + j);
      if constexpr (kWrite) {
        const __m128 moved = _mm_fmadd_ps(_mm256_castps256_ps128(k8), t, v);
        _mm_storeu_ps(wr + j, _mm_min_ps(_mm256_castps256_ps128(hi), _mm_max_ps(_mm256_castps256_ps128(lo), moved)));
      } else {
        low4 = _mm_min_ps(v, low4);
        high4 = _mm_max_ps(v, high4);
      }
      j += 4;
    }
    for (; j < n_post; ++j) RowElement<kWrite>(er[j], wr[j], fired[j] ? ax[i] : 0.0f, km, c, inside);
  }
  if constexpr (kWrite) return true;
  const __m256 out = _mm256_or_ps(_mm256_cmp_ps(low, lo, _CMP_LT_OQ), _mm256_cmp_ps(high, hi, _CMP_GT_OQ));
  const __m128 out4 = _mm_or_ps(_mm_cmp_ps(low4, _mm256_castps256_ps128(lo), _CMP_LT_OQ),
                                _mm_cmp_ps(high4, _mm256_castps256_ps128(hi), _CMP_GT_OQ));
  return inside && _mm256_movemask_ps(out) == 0 && _mm_movemask_ps(out4) == 0;
}
#else
template <bool kWrite>
bool RowPass(float* __restrict__ e, float* __restrict__ w, const float* __restrict__ ax,
             const uint32_t* __restrict__ fired, int64_t n_pre, int64_t n_post, float km, const Constants& c) {
  bool inside = true;
  for (int64_t i = 0; i < n_pre; ++i) {
    for (int64_t j = 0; j < n_post; ++j) {
      RowElement<kWrite>(e[i * n_post + j], w[i * n_post + j], fired[j] ? ax[i] : 0.0f, km, c, inside);
    }
  }
  return inside;
}
#endif

template <bool kFused, bool kFoldMinus, bool kMask, bool kMinus>
inline __attribute__((always_inline)) void Pass(const Lane& l, const Constants& c, const Scratch& s) {
  const int64_t n = c.n_pre * c.n_post;
  const float* minus = kMinus ? s.minus.data() : nullptr;
  if (l.km != 0.0f) {
    FlatPass<kFused, kFoldMinus, kMask, kMinus, true>(l.e, l.w, s.plus.data(), minus, l.mask, n, l.km, c);
  } else {
    FlatPass<kFused, kFoldMinus, kMask, kMinus, false>(l.e, l.w, s.plus.data(), minus, l.mask, n, l.km, c);
  }
}

// x <- x decay + f(s) over n neurons (a trace); its own function so that the restrict parameters let the compiler
// vectorize it (through the lane's pointers it would reload the constants after every store), and the spikes read
// as the bytes 0 or 1 (GCC vectorizes no load of a bool)
template <bool kFused>
inline __attribute__((always_inline)) void Trace(float* __restrict__ x, const bool* __restrict__ s, int64_t n,
                                                 float decay) {
  const uint8_t* __restrict__ b = reinterpret_cast<const uint8_t*>(s);
  for (int64_t i = 0; i < n; ++i) x[i] = Mad<kFused>(x[i], decay, static_cast<float>(static_cast<int32_t>(b[i])));
}

// The terms of the few spiking neurons are written into the scratch buffers before the pass and zeroed after it;
// fused hosts compute a step without mask and depression term with RowPass instead, from the rows' a_plus x_pre[i]
// and the fired columns.
template <bool kFused, bool kFoldMinus>
inline __attribute__((always_inline)) void StepLane(const Lane& l, const Constants& c, Scratch& s) {
  const int64_t n_pre = c.n_pre, n_post = c.n_post;
  const bool minus = c.a_minus != 0.0f && std::any_of(l.pre, l.pre + n_pre, [](bool b) { return b; });
  Trace<kFused>(l.x_pre, l.pre, n_pre, c.decay_plus);
  if constexpr (kFused) {
    if (l.mask == nullptr && !minus) {
      float* ax = s.ax.data();
      uint32_t* column = s.column.data();
      const float a_plus = c.a_plus;
      for (int64_t i = 0; i < n_pre; ++i) ax[i] = a_plus * (l.x_pre[i] * 1.0f);
      const uint8_t* post = reinterpret_cast<const uint8_t*>(l.post);
      for (int64_t j = 0; j < n_post; ++j) column[j] = 0u - static_cast<uint32_t>(post[j]);
      if (l.km != 0.0f) {
        RowPass<true>(l.e, l.w, ax, column, n_pre, n_post, l.km, c);
      } else if (!RowPass<false>(l.e, l.w, ax, column, n_pre, n_post, 0.0f, c)) {  // some weight out of bounds
        for (int64_t k = 0; k < n_pre * n_post; ++k) l.w[k] = std::min(std::max(l.w[k], c.w_min), c.w_max);
      }
      Trace<kFused>(l.x_post, l.post, n_post, c.decay_minus);
      return;
    }
  }
  float* xm = s.xm.data();
  int64_t n_fired = 0;
  // without branches on the spikes (random, so mispredicted): f(s) as a number, the fired list appended always
  if (minus) {  // xm is read by the depression terms only
    for (int64_t j = 0; j < n_post; ++j) xm[j] = l.x_post[j] * c.decay_minus;
  }
  for (int64_t j = 0; j < n_post; ++j) {
    s.fired[n_fired] = static_cast<int32_t>(j);
    n_fired += static_cast<int64_t>(l.post[j]);
  }
  auto terms = [&](bool set) {
    for (int64_t f = 0; f < n_fired; ++f) {
      for (int64_t i = 0; i < n_pre; ++i) s.plus[i * n_post + s.fired[f]] = set ? c.a_plus * (l.x_pre[i] * 1.0f) : 0.0f;
    }
    if (!minus) return;
    for (int64_t i = 0; i < n_pre; ++i) {
      if (!l.pre[i]) continue;
      for (int64_t j = 0; j < n_post; ++j) {
        s.minus[i * n_post + j] = set ? (kFoldMinus ? 1.0f * xm[j] : c.a_minus * (1.0f * xm[j])) : 0.0f;
      }
    }
  };
  terms(true);
  if (l.mask) {
    minus ? Pass<kFused, kFoldMinus, true, true>(l, c, s) : Pass<kFused, kFoldMinus, true, false>(l, c, s);
  } else {
    minus ? Pass<kFused, kFoldMinus, false, true>(l, c, s) : Pass<kFused, kFoldMinus, false, false>(l, c, s);
  }
  terms(false);
  Trace<kFused>(l.x_post, l.post, n_post, c.decay_minus);
}

void StepPlain(const Lane& l, const Constants& c, Scratch& s) { StepLane<false, false>(l, c, s); }

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("fma"))) void StepFused(const Lane& l, const Constants& c, Scratch& s) {
  StepLane<true, false>(l, c, s);
}
__attribute__((target("fma"))) void StepFusedFolded(const Lane& l, const Constants& c, Scratch& s) {
  StepLane<true, true>(l, c, s);
}
bool HostFuses() { return __builtin_cpu_supports("fma"); }
bool HostFoldsSelects() { return __builtin_cpu_supports("avx512f"); }
#else
void StepFused(const Lane& l, const Constants& c, Scratch& s) { StepLane<true, false>(l, c, s); }
void StepFusedFolded(const Lane& l, const Constants& c, Scratch& s) { StepLane<true, true>(l, c, s); }
bool HostFuses() { return true; }  // aarch64 and others: fused multiply-add is part of the base instruction set
bool HostFoldsSelects() { return false; }
#endif

ffi::Error RewardSTDPDense(ffi::Buffer<ffi::PRED> pre, ffi::Buffer<ffi::PRED> post, ffi::Buffer<ffi::PRED> mask,
                           ffi::Buffer<ffi::F32> modulator, ffi::Buffer<ffi::F32> x_pre_in,
                           ffi::Buffer<ffi::F32> x_post_in, ffi::Buffer<ffi::F32> e_in, ffi::Buffer<ffi::F32> w_in,
                           float decay_plus, float decay_minus, float decay_e, float a_plus, float a_minus, float k,
                           float w_min, float w_max, ffi::ResultBuffer<ffi::F32> x_pre,
                           ffi::ResultBuffer<ffi::F32> x_post, ffi::ResultBuffer<ffi::F32> e,
                           ffi::ResultBuffer<ffi::F32> w) {
  const auto dims = w_in.dimensions();
  if (dims.size() != 3 && dims.size() != 2) {
    return ffi::Error::InvalidArgument(
        "spark_reward_stdp_dense: weights must be (B, n_pre, n_post) or one network's (n_pre, n_post)");
  }
  // one network's arrays are passed as they are: (1, ...) views of them made XLA copy them every step
  const size_t lead = dims.size() - 2;
  const int64_t B = lead ? dims[0] : 1, n_pre = dims[lead], n_post = dims[lead + 1], n = n_pre * n_post;
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
  static thread_local Scratch scratch;
  scratch.Fit(n_pre, n_post);
  const Constants c{n_pre, n_post, decay_plus, decay_minus, decay_e, a_plus, a_minus, w_min, w_max};
  static const bool fused = HostFuses(), folded = fused && HostFoldsSelects();
  for (int64_t lane = 0; lane < B; ++lane) {
    const Lane l{pre.typed_data() + lane * n_pre, post.typed_data() + lane * n_post,
                 all ? nullptr : mask.typed_data() + lane * s_mask, x_pre->typed_data() + lane * n_pre,
                 x_post->typed_data() + lane * n_post, e->typed_data() + lane * n, w->typed_data() + lane * n,
                 k * modulator.typed_data()[lane]};
    if (folded) {
      StepFusedFolded(l, c, scratch);
    } else if (fused) {
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
