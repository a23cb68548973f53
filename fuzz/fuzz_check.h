#ifndef QUARRY_FUZZ_FUZZ_CHECK_H_
#define QUARRY_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

// An invariant a fuzz target asserts about the code under test. A violation
// aborts, which libFuzzer reports as a crash and saves the input; the replay
// test fails the same way. Active in every build mode (unlike assert).
#define FUZZ_CHECK(condition)                                                     \
  do {                                                                            \
    if (!(condition)) {                                                           \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, \
                   #condition);                                                   \
      std::abort();                                                               \
    }                                                                             \
  } while (0)

#endif  // QUARRY_FUZZ_FUZZ_CHECK_H_
