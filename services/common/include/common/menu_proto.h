#pragma once

#include "callcenter/v1/queue_service.pb.h"
#include "common/menu.h"

// IVR menus between protobuf and the domain, with the defaults of unset fields applied.
// Adapter code only.
namespace cc {

void ToProto(const RequiredSkill& s, callcenter::v1::RequiredSkill* out);
Menu FromProto(const callcenter::v1::Menu& m);
void ToProto(const Menu& m, callcenter::v1::Menu* out);
MenuAction FromProto(const callcenter::v1::MenuAction& a);
void ToProto(const MenuAction& a, callcenter::v1::MenuAction* out);

}  // namespace cc
