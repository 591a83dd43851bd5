#pragma once

#include <string_view>

// Small SIP bodies the edge reads: keys sent as SIP INFO, and the progress a REFER reports.
namespace cc::edge {

// The key of an INFO body: application/dtmf-relay ("Signal=5\r\nDuration=160") or
// application/dtmf ("5"); '\0' for anything else. Keys: 0-9, *, #, A-D (as upper case).
char DtmfInfoDigit(std::string_view content_type, std::string_view body);

// The status of a message/sipfrag status line ("SIP/2.0 200 OK"), 0 if it is none.
int SipfragStatus(std::string_view body);

}  // namespace cc::edge
