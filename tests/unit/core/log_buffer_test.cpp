#include <string>

#include <gtest/gtest.h>

#include "core/log.hpp"

namespace hush::log {
namespace {

// The access log is buffered as nginx's is; a warning must never wait behind it, nor overtake it.
class LogBuffer : public ::testing::Test {
 protected:
  void SetUp() override {
    set_level(level::info);
    set_format(format::text);
  }
  void TearDown() override {
    set_buffered(false);
    set_level(level::info);
  }
};

TEST_F(LogBuffer, InfoLinesWaitUntilFlushed) {
  ::testing::internal::CaptureStderr();
  set_buffered(true);
  event(level::info, "access", {{"path", std::string_view("/first")}});
  const auto before_flush = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(before_flush.find("/first"), std::string::npos) << before_flush;

  ::testing::internal::CaptureStderr();
  flush();
  const auto flushed = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(flushed.find("info access path=/first\n"), std::string::npos) << flushed;
}

TEST_F(LogBuffer, AWarningGoesAtOnceAfterTheLinesBeforeIt) {
  ::testing::internal::CaptureStderr();
  set_buffered(true);
  event(level::info, "access", {{"path", std::string_view("/before")}});
  event(level::warn, "auth-failed", {{"client", std::string_view("192.0.2.1")}});
  const auto out = ::testing::internal::GetCapturedStderr();
  const auto access = out.find("access path=/before");
  const auto warning = out.find("warn auth-failed client=192.0.2.1");
  ASSERT_NE(access, std::string::npos) << out;
  ASSERT_NE(warning, std::string::npos) << out;
  EXPECT_LT(access, warning);
}

TEST_F(LogBuffer, TurningItOffWritesWhatWaits) {
  ::testing::internal::CaptureStderr();
  set_buffered(true);
  info("stopped");
  set_buffered(false);
  info("after");
  const auto out = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(out.find("info stopped\n"), std::string::npos) << out;
  EXPECT_NE(out.find("info after\n"), std::string::npos) << out;
}

TEST_F(LogBuffer, AFullBufferIsWrittenWithoutAFlush) {
  ::testing::internal::CaptureStderr();
  set_buffered(true);
  const std::string path(250, 'p');  // a value is cut at 256 bytes
  for (int i = 0; i < 300; ++i) {    // 300 lines of about 300 bytes: past the 64 KiB buffer
    event(level::info, "access", {{"path", std::string_view(path)}});
  }
  const auto out = ::testing::internal::GetCapturedStderr();
  EXPECT_GE(out.size(), 64u * 1024) << out.size();
}

}  // namespace
}  // namespace hush::log
