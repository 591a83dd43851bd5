#include "media_relay/prompt_library.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace cc::relay {
namespace {

namespace fs = std::filesystem;

class PromptLibraryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) / ("prompts-" + std::to_string(::getpid()));
    fs::create_directories(root_ / "operator" / "de");
    fs::create_directories(root_ / "defaults" / "en");
    fs::create_directories(root_ / "defaults" / "de");
    Touch("operator/de/closed.wav");
    Touch("operator/moh.wav");
    Touch("defaults/de/closed.wav");
    Touch("defaults/en/closed.wav");
    Touch("defaults/en/number-23.wav");
  }
  void TearDown() override { fs::remove_all(root_); }
  void Touch(const std::string& rel) { std::ofstream(root_ / rel) << "x"; }
  std::string Dir(const std::string& rel) const { return (root_ / rel).string(); }

  fs::path root_;
};

TEST_F(PromptLibraryTest, TheOperatorsFileWinsAndTheDefaultsFillIn) {
  const PromptLibrary lib({Dir("operator"), Dir("defaults")});
  EXPECT_EQ(*lib.find("de/closed"), Dir("operator") + "/de/closed.wav");
  EXPECT_EQ(*lib.find("en/closed"), Dir("defaults") + "/en/closed.wav");
  EXPECT_EQ(*lib.find("en/number-23"), Dir("defaults") + "/en/number-23.wav");
  EXPECT_EQ(*lib.find("moh"), Dir("operator") + "/moh.wav");
}

TEST_F(PromptLibraryTest, AMissingPromptIsNotFoundAndNamesTheFolders) {
  const PromptLibrary lib({Dir("operator"), "", Dir("defaults")});
  const auto r = lib.find("fr/closed");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find(Dir("operator") + ", " + Dir("defaults")), std::string::npos);
}

TEST_F(PromptLibraryTest, OnlyPlainNamesAndOneLanguageFolder) {
  for (const std::string& bad :
       std::vector<std::string>{"", "../etc/passwd", "en/../x", "/abs", "en/", "/closed", "a/b/c",
                                "sp ace", "en/clo\nsed", "..", std::string(300, 'a')}) {
    const auto r = PromptLibrary({Dir("defaults")}).find(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(PromptLibrary::Validate("en-GB/wait-about").ok());
  EXPECT_TRUE(PromptLibrary::Validate("beep").ok());
}

}  // namespace
}  // namespace cc::relay
