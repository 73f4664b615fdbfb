#include "core/process.hpp"

#include <cstring>
#include <string>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace hush::process {
namespace {

TEST(Process, HideArgBlanksOnlyTheMatchingArgument) {
  char prog[] = "hush";
  char cmd[] = "post";
  char text[] = "the eagle lands";
  char other[] = "--dir";
  char* argv[] = {prog, cmd, text, other, nullptr};
  remember_args(4, argv);
  EXPECT_TRUE(hide_arg("the eagle lands"));
  EXPECT_EQ(std::string(text, sizeof text), std::string(sizeof text, '\0'));
  EXPECT_STREQ(other, "--dir");
  EXPECT_STREQ(cmd, "post");
  EXPECT_FALSE(hide_arg("not there"));
  remember_args(0, nullptr);
}

TEST(Process, ForbidCoreDumpsMakesTheProcessUndumpable) {
  // In a child, so that the test runner itself keeps its settings.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    forbid_core_dumps();
    rlimit core{};
    ::getrlimit(RLIMIT_CORE, &core);
    const bool ok = ::prctl(PR_GET_DUMPABLE) == 0 && core.rlim_cur == 0 && core.rlim_max == 0;
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace hush::process
