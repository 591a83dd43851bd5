// The default prompts the build speaks from deploy/prompts/text (tools/prompts.sh, the
// `prompts` target): every name of every language's table, and number-0..99 and digit-0..9,
// exists, is read by the relay's own WAV loader, lasts a plausible time for what it says, and
// is not silence. A composed announcement ("you are caller number" + "23") loads as the parts
// the relay plays back to back.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "media_relay/g711.h"
#include "media_relay/prompt_library.h"
#include "media_relay/wav.h"

namespace cc::relay {
namespace {

namespace fs = std::filesystem;

struct Spoken {
  std::string lang, name, text;
};

std::vector<Spoken> Expected() {
  std::vector<Spoken> out;
  for (const auto& entry : fs::directory_iterator(CC_PROMPT_TEXT_DIR)) {
    if (entry.path().extension() != ".tsv") continue;
    const std::string lang = entry.path().stem().string();
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] == '#') continue;
      const auto tab = line.find('\t');
      out.push_back({lang, line.substr(0, tab), line.substr(tab + 1)});
    }
    for (int n = 0; n < 100; ++n) out.push_back({lang, "number-" + std::to_string(n), ""});
    for (int n = 0; n < 10; ++n) out.push_back({lang, "digit-" + std::to_string(n), ""});
  }
  return out;
}

TEST(DefaultPromptsTest, EveryPromptOfEveryLanguageIsSpokenAndPlayable) {
  const auto expected = Expected();
  std::set<std::string> langs;
  for (const auto& e : expected) langs.insert(e.lang);
  ASSERT_GE(langs.size(), 2u) << "English and at least one other language";
  ASSERT_TRUE(langs.count("en"));
  const PromptLibrary library({CC_DEFAULT_PROMPT_DIR});
  for (const auto& e : expected) {
    const std::string name = e.lang + "/" + e.name;
    auto path = library.find(name);
    ASSERT_TRUE(path.ok()) << path.error().message;
    auto audio = LoadPromptG711(*path, G711Law::kMuLaw);
    ASSERT_TRUE(audio.ok()) << name << ": " << audio.error().message;
    const double seconds = static_cast<double>(audio->size()) / 8000.0;
    // About 14 characters a second at espeak-ng's 150 words a minute, with room either way.
    const double longest = 2.0 + static_cast<double>(e.text.size()) / 6.0;
    EXPECT_GT(seconds, 0.2) << name;
    EXPECT_LT(seconds, longest) << name;
    std::vector<std::int16_t> pcm(audio->size());
    DecodeG711(G711Law::kMuLaw, *audio, pcm);
    double sum = 0;
    for (auto s : pcm) sum += static_cast<double>(s) * s;
    const double rms = std::sqrt(sum / static_cast<double>(pcm.size()));
    EXPECT_GT(rms, 1000.0) << name << ": speech, levelled, not silence";
  }
}

TEST(DefaultPromptsTest, TheLanguagesSayTheSameThingsDifferently) {
  const PromptLibrary library({CC_DEFAULT_PROMPT_DIR});
  auto en = LoadPromptG711(*library.find("en/closed"), G711Law::kALaw);
  auto de = LoadPromptG711(*library.find("de/closed"), G711Law::kALaw);
  ASSERT_TRUE(en.ok() && de.ok());
  EXPECT_NE(*en, *de);
  auto en23 = LoadPromptG711(*library.find("en/number-23"), G711Law::kALaw);
  auto en3 = LoadPromptG711(*library.find("en/number-3"), G711Law::kALaw);
  ASSERT_TRUE(en23.ok() && en3.ok());
  EXPECT_GT(en23->size(), en3->size()) << "twenty-three takes longer to say than three";
}

}  // namespace
}  // namespace cc::relay
