#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "callcenter/v1/queue_service.pb.h"

// IVR menus from a YAML file, as `ccctl ivr import` reads it (the format is in docs/ivr.md).
// Every mistake names the line it is on.
namespace ccctl {

struct MenuYamlError : std::runtime_error {
  MenuYamlError(int at_line, const std::string& message)
      : std::runtime_error(message), line(at_line) {}
  int line;  // 1-based
};

struct MenuFile {
  std::vector<callcenter::v1::Menu> menus;
  // Where each menu and each of its keys is: "menu 'main'" and "menu 'main' key '1'" -> line.
  std::map<std::string, int> lines;
  // The line an error message about a menu is about (the longest place its text starts
  // with), 0 when it names none.
  int line_of(const std::string& message) const;
};

// Parses and checks the menus (shape, names, keys, prompts, actions, references within the
// file or to `stored` menus); MenuYamlError on the first mistake.
MenuFile ParseMenuYaml(const std::string& text, const std::vector<std::string>& stored = {});

}  // namespace ccctl
