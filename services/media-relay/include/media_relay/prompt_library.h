#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace cc::relay {

// Where the relay finds a prompt's WAV file. A prompt is named `name` or `lang/name` (one
// language folder: "en/closed", "de/number-23"); each part is letters, digits, '-', '_' or
// '.', never "..". The folders are searched in order, the operator's first and the defaults
// made from text (tools/prompts.sh) after, so an operator replaces any prompt by putting a file
// of the same name in the first.
class PromptLibrary {
 public:
  explicit PromptLibrary(std::vector<std::string> dirs);
  // INVALID_ARGUMENT for a name that is not one.
  static Status Validate(const std::string& name);
  // The file of `name`; NOT_FOUND when no folder has one (the caller may have a built-in).
  Result<std::string> find(const std::string& name) const;
  std::string describe() const;  // the folders, for messages

 private:
  std::vector<std::string> dirs_;
};

}  // namespace cc::relay
