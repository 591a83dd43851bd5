#pragma once

// The on-the-wire fixture for calls whose audio is checked by tone: each participant's media
// is a ToneParty (its own frequency out, what it hears in), SIPp does the SIP and names the
// party's port in its SDP (-key rtp_port N).
#include <set>

#include "stack_fixture.h"
#include "tone_party.h"

namespace cc {

class ToneStackIt : public StackIt {
 protected:
  // The relay's port of a leg labelled `label` not in `known` (which it is added to), once
  // there is one.
  int NewLegPort(const std::string& label, std::set<std::string>& known) {
    int port = 0;
    testing::WaitFor(
        [&] {
          v1::ListLegsResponse legs;
          if (!relay_stub_->ListLegs(Ctx().get(), {}, &legs).ok()) return false;
          for (const auto& l : legs.legs()) {
            if (l.label() == label && !known.count(l.id()) && l.remote_rtp_port() != 0) {
              known.insert(l.id());
              port = l.local_rtp_port();
              return true;
            }
          }
          return false;
        },
        seconds(15));
    EXPECT_NE(port, 0) << "no new " << label << " leg";
    return port;
  }

  // What each party hears over a fresh second and a half.
  void Listen(std::initializer_list<testing::ToneParty*> parties) {
    for (auto* p : parties) p->clear();
    std::this_thread::sleep_for(milliseconds(1500));
  }

  static std::set<int> Only(int hz) { return {hz}; }

  std::string CallWith() { return Scalar("SELECT concat_ws('|', state, agent_id) FROM calls"); }

  // SIPp's -key for a party's port.
  static std::vector<std::string> MediaAt(const testing::ToneParty& p) {
    return {"-key", "rtp_port", std::to_string(p.port())};
  }

  // A phone (a SIPp UAS of `scenario` on `port`) whose media is `party`, taking `calls` calls;
  // `extra`: more SIPp arguments.
  std::unique_ptr<testing::ChildProcess> Phone(const std::string& scenario, int port,
                                               const testing::ToneParty& party, int calls = 1,
                                               std::vector<std::string> extra = {}) {
    auto args = MediaAt(party);
    args.insert(args.end(), {"-m", std::to_string(calls), "-mp", Port()});
    args.insert(args.end(), extra.begin(), extra.end());
    return Sipp(scenario, port, args);
  }

  // A customer calling `number` with its media at `party`, hanging up `talk_ms` after the
  // answer.
  std::unique_ptr<testing::ChildProcess> Caller(const std::string& number,
                                                const testing::ToneParty& party, int talk_ms) {
    auto args = MediaAt(party);
    args.insert(args.end(),
                {"-s", number, "-d", std::to_string(talk_ms), "-m", "1", "-mp", Port()});
    return Sipp("customer_tone.xml", testing::FreeUdpPort(), args);
  }

  std::string Port() { return std::to_string(testing::FreeUdpPort()); }
};

}  // namespace cc
