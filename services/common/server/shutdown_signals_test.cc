// SIGTERM starts a drain; a second SIGTERM ends the process at once.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/common/server/server.h"

namespace quarry::server {
namespace {

TEST(ShutdownSignals, SecondSigtermExitsAtOnceDuringADrain) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ShutdownSignals signals;
    (void)!write(ready[1], "r", 1);
    signals.Wait();
    (void)!write(ready[1], "d", 1);
    // A drain that would take far longer than the test allows.
    sleep(60);
    _exit(0);
  }
  char byte;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  ASSERT_EQ(kill(child, SIGTERM), 0);
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  ASSERT_EQ(byte, 'd');
  const absl::Time start = absl::Now();
  ASSERT_EQ(kill(child, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
}

}  // namespace
}  // namespace quarry::server
