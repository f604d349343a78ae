// Shared by Spark's native kernels: visiting the neurons that spiked in a boolean spike vector.
#ifndef SPARK_NATIVE_SPIKES_H_
#define SPARK_NATIVE_SPIKES_H_

#include <cstdint>
#include <cstring>

namespace spark {

// Calls f(i) for every i with s[i] true, in increasing order. Spikes are sparse (a few per step among thousands of
// neurons), so the vector is read eight neurons at a time and all-silent groups are skipped with one comparison. In
// a group with spikes, the set bytes are visited through the word's set bits (a bool is stored as the byte 0 or 1:
// bit 8 k is neuron i + k), not with a test per neuron, whose outcome is random and so often mispredicted.
template <typename F>
inline void ForEachSpike(const bool* s, int64_t n, F&& f) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t group;
    std::memcpy(&group, s + i, sizeof group);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (group != 0) {
      f(i + (__builtin_ctzll(group) >> 3));
      group &= group - 1;
    }
#else
    if (group == 0) continue;
    for (int64_t k = i; k < i + 8; ++k) {
      if (s[k]) f(k);
    }
#endif
  }
  for (; i < n; ++i) {
    if (s[i]) f(i);
  }
}

}  // namespace spark

#endif  // SPARK_NATIVE_SPIKES_H_
