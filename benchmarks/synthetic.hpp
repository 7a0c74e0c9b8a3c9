// Seeded synthetic interaction data with power-law user activity and item popularity, for
// benchmarks that need a large implicit-feedback matrix of a chosen shape.
//
// User u (in activity rank order) gets about n * (r+1)^-user_exponent / Z interactions (at least
// min_per_user); its items are drawn without repetition from a Zipf law with item_exponent over
// item popularity ranks. Ranks are then mapped to ids through seeded permutations so that popular
// users and items are spread over the index range, as in real data. Values are confidences
// 1 + alpha * m with m drawn uniformly from 1..5. Same options, same matrix, on every platform
// (only integer generators and our own conversions are used).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "tailor/core/types.hpp"

namespace tailor::bench {

struct PowerLawOptions {
  std::int32_t users = 100000;
  std::int32_t items = 50000;
  std::int64_t interactions = 5000000;
  double user_exponent = 0.5;   // activity ~ rank^-user_exponent
  double item_exponent = 0.7;   // popularity ~ rank^-item_exponent
  std::int32_t min_per_user = 1;
  float alpha = 10.0f;
  std::uint64_t seed = 20240601;
};

namespace detail {
inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
inline double uniform01(std::uint64_t& state) {
  return static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53;
}
inline std::vector<std::int32_t> permutation(std::int32_t n, std::uint64_t& state) {
  std::vector<std::int32_t> p(static_cast<std::size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  for (std::size_t i = p.size(); i > 1; --i) {
    std::swap(p[i - 1], p[static_cast<std::size_t>(splitmix64(state) % i)]);
  }
  return p;
}
}  // namespace detail

/// users x items confidence matrix with exactly `interactions` stored entries (if they fit).
inline SparseMatrix power_law_confidences(const PowerLawOptions& o) {
  std::uint64_t state = o.seed;
  // Per-user counts: proportional to rank^-user_exponent, clamped, rounded to hit the total.
  std::vector<double> weight(static_cast<std::size_t>(o.users));
  for (std::int32_t r = 0; r < o.users; ++r) {
    weight[static_cast<std::size_t>(r)] = std::pow(static_cast<double>(r) + 1.0, -o.user_exponent);
  }
  const double wsum = std::accumulate(weight.begin(), weight.end(), 0.0);
  std::vector<std::int64_t> count(static_cast<std::size_t>(o.users));
  std::int64_t total = 0;
  const std::int64_t cap = o.items / 2;
  for (std::size_t r = 0; r < count.size(); ++r) {
    const auto c = static_cast<std::int64_t>(static_cast<double>(o.interactions) * weight[r] / wsum);
    count[r] = std::clamp<std::int64_t>(c, o.min_per_user, cap);
    total += count[r];
  }
  for (std::size_t r = 0; total < o.interactions; r = (r + 1) % count.size()) {
    if (count[r] < cap) {
      ++count[r];
      ++total;
    }
  }
  for (std::size_t r = count.size(); total > o.interactions && r-- > 0;) {
    if (count[r] > o.min_per_user) {
      --count[r];
      --total;
    }
    if (r == 0 && total > o.interactions) r = count.size();
  }
  // Item popularity CDF over ranks.
  std::vector<double> cdf(static_cast<std::size_t>(o.items));
  double acc = 0.0;
  for (std::int32_t r = 0; r < o.items; ++r) {
    acc += std::pow(static_cast<double>(r) + 1.0, -o.item_exponent);
    cdf[static_cast<std::size_t>(r)] = acc;
  }
  const std::vector<std::int32_t> user_id = detail::permutation(o.users, state);
  const std::vector<std::int32_t> item_id = detail::permutation(o.items, state);

  std::vector<Eigen::Triplet<float, std::int32_t>> triplets;
  triplets.reserve(static_cast<std::size_t>(total));
  std::vector<std::int32_t> chosen;
  std::vector<char> taken(static_cast<std::size_t>(o.items), 0);
  for (std::size_t r = 0; r < count.size(); ++r) {
    chosen.clear();
    while (static_cast<std::int64_t>(chosen.size()) < count[r]) {
      const double u = detail::uniform01(state) * acc;
      const auto rank = static_cast<std::int32_t>(
          std::min<std::ptrdiff_t>(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin(),
                                   o.items - 1));
      const std::int32_t item = item_id[static_cast<std::size_t>(rank)];
      if (taken[static_cast<std::size_t>(item)]) continue;
      taken[static_cast<std::size_t>(item)] = 1;
      chosen.push_back(item);
    }
    for (std::int32_t item : chosen) {
      taken[static_cast<std::size_t>(item)] = 0;
      const auto m = static_cast<float>(1 + detail::splitmix64(state) % 5);
      triplets.emplace_back(user_id[r], item, 1.0f + o.alpha * m);
    }
  }
  SparseMatrix m(o.users, o.items);
  m.setFromTriplets(triplets.begin(), triplets.end());
  m.makeCompressed();
  return m;
}

}  // namespace tailor::bench
