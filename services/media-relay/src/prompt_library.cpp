#include "media_relay/prompt_library.h"

#include <unistd.h>

namespace cc::relay {
namespace {

bool PlainPart(const std::string& s) {
  if (s.empty() || s.size() > 96 || s == "." || s.find("..") != std::string::npos) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

PromptLibrary::PromptLibrary(std::vector<std::string> dirs) {
  for (auto& d : dirs) {
    if (!d.empty()) dirs_.push_back(std::move(d));
  }
}

Status PromptLibrary::Validate(const std::string& name) {
  const auto slash = name.find('/');
  const bool ok = slash == std::string::npos
                      ? PlainPart(name)
                      : PlainPart(name.substr(0, slash)) && PlainPart(name.substr(slash + 1));
  if (!ok) {
    return InvalidArgument("prompt name '" + name.substr(0, 200) +
                           "' is not a name or language/name of letters, digits, - _ .");
  }
  return OkStatus();
}

Result<std::string> PromptLibrary::find(const std::string& name) const {
  CC_RETURN_IF_ERROR(Validate(name));
  for (const auto& dir : dirs_) {
    std::string path = dir + "/" + name + ".wav";
    if (access(path.c_str(), R_OK) == 0) return path;
  }
  return NotFound("no prompt named '" + name + "'" + (dirs_.empty() ? "" : " in " + describe()));
}

std::string PromptLibrary::describe() const {
  std::string out;
  for (const auto& d : dirs_) out += (out.empty() ? "" : ", ") + d;
  return out;
}

}  // namespace cc::relay
