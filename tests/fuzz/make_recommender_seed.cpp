// Writes the seed model of the Recommender loader's fuzz corpus (corpus/recommender_load/seed.tlm
// was made by it): make_recommender_seed OUT.tlm
#include <iostream>

#include "recommender_seed.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_recommender_seed OUT.tlm\n";
    return 2;
  }
  tailor::Recommender rec(tailor::test::fuzz_options());
  tailor::test::train_seed_model(rec);
  rec.save(argv[1]);
  return 0;
}
