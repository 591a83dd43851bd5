#include "media_relay/sdp.h"

#include <sofia-sip/sdp.h>
#include <sofia-sip/su_alloc.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <iterator>
#include <memory>
#include <set>

namespace cc::relay {
namespace {

struct HomeDeleter {
  void operator()(su_home_t* home) const { su_home_unref(home); }
};
struct ParserDeleter {
  void operator()(sdp_parser_t* parser) const { sdp_parser_free(parser); }
};

constexpr std::uint32_t kAnswerPtimeMs = 20;
constexpr std::string_view kTelephoneEvent = "telephone-event";
constexpr std::string_view kDefaultEventRange = "0-15";

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

// The whole of `text` as a number no larger than `max`.
std::optional<std::uint64_t> ParseNumber(std::string_view text, std::uint64_t max) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > max) return std::nullopt;
  return value;
}

std::string_view FirstToken(std::string_view text) {
  const auto start = text.find_first_not_of(" \t");
  if (start == std::string_view::npos) return {};
  text.remove_prefix(start);
  return text.substr(0, text.find_first_of(" \t"));
}

std::string_view Text(const char* s) {
  return s == nullptr ? std::string_view() : std::string_view(s);
}

// Debian's Sofia-SIP 1.12.11 (a 2011 snapshot) loops forever on an m= line whose format list
// holds a character outside the token set or trailing tabs (fixed upstream in 2022, "fix parse
// m-line"), and reads past its buffer on a one-character line. So every line is checked to be
// "<letter>=..." and m= lines are checked field by field and rejoined with single spaces before
// Sofia sees them.
constexpr std::string_view kTokenChars =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-!#$%&'*+.^_`{|}~";
constexpr std::string_view kProtoChars =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-!#$%&'*+.^_`{|}~/";

// What each field of "m=<media> <port>[/<count>] <proto> <fmt> ..." may hold.
struct MediaField {
  const char* name;
  std::string_view allowed;
};
constexpr MediaField kMediaFields[] = {{"media", kTokenChars},
                                       {"port", "0123456789/"},
                                       {"protocol", kProtoChars},
                                       {"format", kTokenChars}};

std::string_view TrimBlanks(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

bool OnlyChars(std::string_view s, std::string_view allowed) {
  return !s.empty() && s.find_first_not_of(allowed) == std::string_view::npos;
}

std::string Quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 60)) out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  return out + (s.size() > 60 ? "...\"" : "\"");
}

Result<std::string> CheckedMediaLine(std::string_view value) {
  std::vector<std::string_view> fields;
  while (!(value = TrimBlanks(value)).empty()) {
    const auto end = std::min(value.find_first_of(" \t"), value.size());
    fields.push_back(value.substr(0, end));
    value.remove_prefix(end);
  }
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const MediaField& rule = kMediaFields[std::min(i, std::size(kMediaFields) - 1)];
    if (!OnlyChars(fields[i], rule.allowed)) {
      return InvalidArgument(std::string("m= line has an invalid ") + rule.name + " " +
                             Quoted(fields[i]));
    }
  }
  std::string line = "m=";
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line += ' ';
    line += fields[i];
  }
  return line;
}

// Why an attribute line the relay reads (a=rtpmap, a=fmtp, a=ptime, a=rtcp) cannot be used;
// "" when it can or is another attribute. Such a line is left out, not fatal: the codecs that
// parse are still offered (RFC 4566 section 5.13: an attribute not understood is ignored), and
// Sofia refuses the whole description on some of them.
std::string UnusableAttribute(std::string_view line) {
  if (line.substr(0, 2) != "a=") return "";
  const std::string_view attr = line.substr(2);
  const auto colon = attr.find(':');
  const std::string_view name = attr.substr(0, colon);
  const std::string_view value = colon == std::string_view::npos ? "" : attr.substr(colon + 1);
  auto number = [](std::string_view t, std::uint64_t min, std::uint64_t max) {
    const auto n = ParseNumber(t, max);
    return n && *n >= min;
  };
  if (EqualsIgnoreCase(name, "rtpmap")) {
    // <payload type> <encoding>/<clock rate>[/<channels>]
    const std::string_view pt = FirstToken(value);
    const std::string_view map = TrimBlanks(value.substr(value.find(pt) + pt.size()));
    const auto slash = map.find('/');
    if (!number(pt, 0, 127) || slash == std::string_view::npos ||
        !OnlyChars(map.substr(0, slash), kTokenChars)) {
      return "malformed";
    }
    const std::string_view rest = map.substr(slash + 1);
    const auto slash2 = rest.find('/');
    if (!number(rest.substr(0, slash2), 1, 0xFFFFFFFFull)) return "invalid clock rate";
    if (slash2 != std::string_view::npos && !number(rest.substr(slash2 + 1), 1, 255)) {
      return "invalid channel count";
    }
  } else if (EqualsIgnoreCase(name, "fmtp")) {
    if (!number(FirstToken(value), 0, 127)) return "malformed";
  } else if (EqualsIgnoreCase(name, "ptime")) {
    if (!number(FirstToken(value), 1, 1000)) return "invalid value";
  } else if (EqualsIgnoreCase(name, "rtcp")) {
    if (!number(FirstToken(value), 1, 65535)) return "invalid port";
  }
  return "";
}

// The text Sofia gets: CRLF lines, blank lines dropped, m= lines normalised, unusable
// attribute lines left out (and named in `ignored`).
Result<std::string> CheckedForSofia(std::string_view text, std::vector<std::string>& ignored) {
  std::string out;
  out.reserve(text.size() + 2);
  while (!text.empty()) {
    const auto end = std::min(text.find_first_of("\r\n"), text.size());
    const std::string_view line = TrimBlanks(text.substr(0, end));
    text.remove_prefix(std::min(end + 1, text.size()));
    if (line.empty()) continue;
    if (line.size() < 2 || line[1] != '=') return InvalidArgument("malformed line " + Quoted(line));
    if (line[0] == 'm') {
      CC_ASSIGN_OR_RETURN(const std::string media, CheckedMediaLine(line.substr(2)));
      out += media;
    } else if (const std::string why = UnusableAttribute(line); !why.empty()) {
      ignored.push_back(Quoted(line) + ": " + why);
      continue;
    } else {
      out += line;
    }
    out += "\r\n";
  }
  return out;
}

Direction FromMode(unsigned mode) {
  switch (mode) {
    case sdp_sendonly:
      return Direction::kSendOnly;
    case sdp_recvonly:
      return Direction::kRecvOnly;
    case sdp_inactive:
      return Direction::kInactive;
    default:
      return Direction::kSendRecv;
  }
}

std::optional<Direction> DirectionNamed(std::string_view name) {
  for (Direction d :
       {Direction::kSendRecv, Direction::kSendOnly, Direction::kRecvOnly, Direction::kInactive}) {
    if (EqualsIgnoreCase(name, ToString(d))) return d;
  }
  return std::nullopt;
}

Connection ConvertConnection(const sdp_connection_t& c) {
  return {c.c_addrtype == sdp_addr_ip6 ? "IP6" : "IP4", std::string(Text(c.c_address))};
}

Status ConvertRtpMaps(const sdp_media_t& m, MediaDescription& out) {
  for (const sdp_rtpmap_t* rm = m.m_rtpmaps; rm != nullptr; rm = rm->rm_next) {
    const auto pt = static_cast<std::uint8_t>(rm->rm_pt);
    out.payload_types.push_back(pt);
    if (rm->rm_fmtp != nullptr) out.fmtps[pt] = rm->rm_fmtp;
    if (Text(rm->rm_encoding).empty()) continue;  // dynamic type without a=rtpmap
    const std::string where = "a=rtpmap:" + std::to_string(pt);
    if (rm->rm_rate == 0 || rm->rm_rate > 0xFFFFFFFFul) {
      return InvalidArgument(where + " has an invalid clock rate");
    }
    RtpMap map{rm->rm_encoding, static_cast<std::uint32_t>(rm->rm_rate), 1};
    if (rm->rm_params != nullptr) {
      const auto channels = ParseNumber(Text(rm->rm_params), 255);
      if (!channels || *channels == 0)
        return InvalidArgument(where + " has an invalid channel count");
      map.channels = static_cast<std::uint32_t>(*channels);
    }
    out.rtpmaps[pt] = std::move(map);
  }
  return OkStatus();
}

Status ConvertMediaAttributes(const sdp_media_t& m, MediaDescription& out) {
  for (const sdp_attribute_t* a = m.m_attributes; a != nullptr; a = a->a_next) {
    const std::string_view name = Text(a->a_name);
    const std::string_view value = Text(a->a_value);
    if (EqualsIgnoreCase(name, "ptime")) {
      const auto ptime = ParseNumber(FirstToken(value), 1000);
      if (!ptime || *ptime == 0) {
        return InvalidArgument("a=ptime has an invalid value \"" + std::string(value) + "\"");
      }
      out.ptime = static_cast<std::uint32_t>(*ptime);
    } else if (EqualsIgnoreCase(name, "rtcp")) {
      const auto port = ParseNumber(FirstToken(value), 65535);
      if (!port || *port == 0) {
        return InvalidArgument("a=rtcp has an invalid port \"" + std::string(value) + "\"");
      }
      out.rtcp_port = static_cast<std::uint16_t>(*port);
    }
  }
  return OkStatus();
}

Result<MediaDescription> ConvertMedia(const sdp_media_t& m) {
  MediaDescription out;
  out.type = Text(m.m_type_name);
  out.proto = Text(m.m_proto_name);
  if (m.m_port > 65535) {
    return InvalidArgument("m=" + out.type + " port " + std::to_string(m.m_port) +
                           " is out of range");
  }
  out.port = static_cast<std::uint16_t>(m.m_port);
  if (sdp_media_has_rtp(&m)) {
    CC_RETURN_IF_ERROR(ConvertRtpMaps(m, out));
  } else {
    for (const sdp_list_t* f = m.m_format; f != nullptr; f = f->l_next) {
      out.formats.emplace_back(Text(f->l_text));
    }
  }
  if (out.payload_types.empty() && out.formats.empty()) {
    return InvalidArgument("m=" + out.type + " lists no formats");
  }
  out.direction = FromMode(m.m_mode);
  if (m.m_connections != nullptr) out.connection = ConvertConnection(*m.m_connections);
  CC_RETURN_IF_ERROR(ConvertMediaAttributes(m, out));
  return out;
}

Result<SessionDescription> ConvertSession(const sdp_session_t& s) {
  SessionDescription out;
  if (s.sdp_origin != nullptr) {
    const sdp_origin_t& o = *s.sdp_origin;
    out.origin.username = Text(o.o_username);
    out.origin.session_id = o.o_id;
    out.origin.session_version = o.o_version;
    if (o.o_address != nullptr) out.origin.address = ConvertConnection(*o.o_address);
  }
  out.session_name = Text(s.sdp_subject);
  if (s.sdp_connection != nullptr) out.connection = ConvertConnection(*s.sdp_connection);
  for (const sdp_attribute_t* a = s.sdp_attributes; a != nullptr; a = a->a_next) {
    if (auto d = DirectionNamed(Text(a->a_name))) out.direction = d;
  }
  for (const sdp_media_t* m = s.sdp_media; m != nullptr; m = m->m_next) {
    CC_ASSIGN_OR_RETURN(MediaDescription media, ConvertMedia(*m));
    out.media.push_back(std::move(media));
  }
  return out;
}

void AppendConnection(std::string& out, const Connection& c) {
  out += "c=IN " + c.address_type + " " + c.address + "\r\n";
}

void AppendMedia(std::string& out, const MediaDescription& m) {
  out += "m=" + m.type + " " + std::to_string(m.port) + " " + m.proto;
  for (std::uint8_t pt : m.payload_types) out += " " + std::to_string(pt);
  for (const std::string& f : m.formats) out += " " + f;
  out += "\r\n";
  if (m.connection) AppendConnection(out, *m.connection);
  std::set<std::uint8_t> written;
  for (std::uint8_t pt : m.payload_types) {
    if (!written.insert(pt).second) continue;
    if (auto it = m.rtpmaps.find(pt); it != m.rtpmaps.end()) {
      out += "a=rtpmap:" + std::to_string(pt) + " " + it->second.encoding + "/" +
             std::to_string(it->second.clock_rate);
      if (it->second.channels != 1) out += "/" + std::to_string(it->second.channels);
      out += "\r\n";
    }
    if (auto it = m.fmtps.find(pt); it != m.fmtps.end()) {
      out += "a=fmtp:" + std::to_string(pt) + " " + it->second + "\r\n";
    }
  }
  if (m.ptime) out += "a=ptime:" + std::to_string(*m.ptime) + "\r\n";
  if (m.rtcp_port) out += "a=rtcp:" + std::to_string(*m.rtcp_port) + "\r\n";
  out += "a=" + std::string(ToString(m.direction)) + "\r\n";
}

SessionDescription SessionFor(const LocalMedia& local) {
  SessionDescription s;
  s.origin = {
      local.username, local.session_id, local.session_version, {local.address_type, local.address}};
  s.session_name = local.session_name;
  s.connection = Connection{local.address_type, local.address};
  return s;
}

void AddTelephoneEvent(MediaDescription& m, std::uint8_t pt, std::string fmtp) {
  m.payload_types.push_back(pt);
  m.rtpmaps[pt] = {std::string(kTelephoneEvent), 8000, 1};
  m.fmtps[pt] = std::move(fmtp);
}

std::optional<G711Law> G711LawOf(const MediaDescription& m, std::uint8_t pt) {
  const auto it = m.rtpmaps.find(pt);
  if (it == m.rtpmaps.end()) {
    if (pt == StaticPayloadType(G711Law::kMuLaw)) return G711Law::kMuLaw;
    if (pt == StaticPayloadType(G711Law::kALaw)) return G711Law::kALaw;
    return std::nullopt;
  }
  const RtpMap& map = it->second;
  if (map.clock_rate != 8000 || map.channels != 1) return std::nullopt;
  if (EqualsIgnoreCase(map.encoding, "PCMU")) return G711Law::kMuLaw;
  if (EqualsIgnoreCase(map.encoding, "PCMA")) return G711Law::kALaw;
  return std::nullopt;
}

std::optional<std::uint8_t> TelephoneEventOf(const MediaDescription& m) {
  for (std::uint8_t pt : m.payload_types) {
    const auto it = m.rtpmaps.find(pt);
    if (it != m.rtpmaps.end() && EqualsIgnoreCase(it->second.encoding, kTelephoneEvent) &&
        it->second.clock_rate == 8000) {
      return pt;
    }
  }
  return std::nullopt;
}

// The relay's terms for one offered stream, or nullopt if it cannot take it.
std::optional<NegotiatedAudio> Accept(const SessionDescription& offer, const MediaDescription& m) {
  if (!m.is_audio() || m.port == 0 || !EqualsIgnoreCase(m.proto, "RTP/AVP")) return std::nullopt;
  const Connection* remote = offer.connection_for(m);
  if (remote == nullptr) return std::nullopt;
  NegotiatedAudio audio;
  const auto codec = std::find_if(m.payload_types.begin(), m.payload_types.end(),
                                  [&](std::uint8_t pt) { return G711LawOf(m, pt).has_value(); });
  if (codec == m.payload_types.end()) return std::nullopt;
  audio.payload_type = *codec;
  audio.law = *G711LawOf(m, *codec);
  audio.telephone_event_payload_type = TelephoneEventOf(m);
  audio.remote = *remote;
  audio.remote_rtp_port = m.port;
  audio.remote_rtcp_port = m.rtcp_port.value_or(static_cast<std::uint16_t>(m.port + 1));
  audio.remote_direction = m.direction;
  audio.remote_hold = m.direction == Direction::kSendOnly || m.direction == Direction::kInactive ||
                      remote->is_unspecified();
  audio.remote_ptime = m.ptime;
  return audio;
}

MediaDescription AcceptedMedia(const MediaDescription& offered, const NegotiatedAudio& audio,
                               const LocalMedia& local) {
  MediaDescription m;
  m.port = local.port;
  m.payload_types = {audio.payload_type};
  m.rtpmaps[audio.payload_type] = {audio.law == G711Law::kMuLaw ? "PCMU" : "PCMA", 8000, 1};
  if (audio.telephone_event_payload_type) {
    const std::uint8_t pt = *audio.telephone_event_payload_type;
    const auto fmtp = offered.fmtps.find(pt);
    AddTelephoneEvent(m, pt,
                      fmtp != offered.fmtps.end() ? fmtp->second : std::string(kDefaultEventRange));
  }
  m.ptime = kAnswerPtimeMs;
  m.direction = AnswerDirection(offered.direction);
  return m;
}

// RFC 3264 section 6: a refused stream is answered with port 0 and the offered formats.
MediaDescription RejectedMedia(const MediaDescription& offered) {
  MediaDescription m;
  m.type = offered.type;
  m.proto = offered.proto;
  m.payload_types = offered.payload_types;
  m.rtpmaps = offered.rtpmaps;
  m.formats = offered.formats;
  m.direction = Direction::kInactive;
  return m;
}

}  // namespace

std::string_view ToString(Direction direction) {
  switch (direction) {
    case Direction::kSendRecv:
      return "sendrecv";
    case Direction::kSendOnly:
      return "sendonly";
    case Direction::kRecvOnly:
      return "recvonly";
    case Direction::kInactive:
      return "inactive";
  }
  return "sendrecv";
}

Direction AnswerDirection(Direction offered) {
  switch (offered) {
    case Direction::kSendOnly:
      return Direction::kRecvOnly;
    case Direction::kRecvOnly:
      return Direction::kSendOnly;
    default:
      return offered;
  }
}

bool Connection::is_unspecified() const {
  return address == "0.0.0.0" || address == "::";
}

bool MediaDescription::is_rtp() const {
  return proto.starts_with("RTP/") || proto.find("/RTP/") != std::string::npos;
}

const Connection* SessionDescription::connection_for(const MediaDescription& m) const {
  if (m.connection) return &*m.connection;
  if (connection) return &*connection;
  return nullptr;
}

Result<SessionDescription> ParseSdp(std::string_view text) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return InvalidArgument("invalid SDP: empty");
  }
  if (text.find('\0') != std::string_view::npos) {
    return InvalidArgument("invalid SDP: contains a NUL byte");
  }
  std::vector<std::string> ignored;
  auto checked = CheckedForSofia(text, ignored);
  if (!checked.ok()) return InvalidArgument("invalid SDP: " + checked.error().message);
  std::unique_ptr<su_home_t, HomeDeleter> home(
      static_cast<su_home_t*>(su_home_new(sizeof(su_home_t))));
  if (!home) return Internal("SDP parser: out of memory");
  std::unique_ptr<sdp_parser_t, ParserDeleter> parser(
      sdp_parse(home.get(), checked->data(), static_cast<issize_t>(checked->size()), 0));
  const sdp_session_t* session = sdp_session(parser.get());
  if (session == nullptr) {
    return InvalidArgument("invalid SDP: " + std::string(Text(sdp_parsing_error(parser.get()))));
  }
  auto converted = ConvertSession(*session);
  if (!converted.ok()) return InvalidArgument("invalid SDP: " + converted.error().message);
  converted->ignored = std::move(ignored);
  return converted;
}

std::string WriteSdp(const SessionDescription& sdp) {
  std::string out = "v=0\r\n";
  out += "o=" + sdp.origin.username + " " + std::to_string(sdp.origin.session_id) + " " +
         std::to_string(sdp.origin.session_version) + " IN " + sdp.origin.address.address_type +
         " " + sdp.origin.address.address + "\r\n";
  out += "s=" + (sdp.session_name.empty() ? std::string("-") : sdp.session_name) + "\r\n";
  if (sdp.connection) AppendConnection(out, *sdp.connection);
  out += "t=0 0\r\n";
  if (sdp.direction) out += "a=" + std::string(ToString(*sdp.direction)) + "\r\n";
  for (const MediaDescription& m : sdp.media) AppendMedia(out, m);
  return out;
}

SessionDescription BuildOffer(const LocalMedia& local) {
  SessionDescription offer = SessionFor(local);
  MediaDescription m;
  m.port = local.port;
  for (G711Law law : {G711Law::kMuLaw, G711Law::kALaw}) {
    const std::uint8_t pt = StaticPayloadType(law);
    m.payload_types.push_back(pt);
    m.rtpmaps[pt] = {law == G711Law::kMuLaw ? "PCMU" : "PCMA", 8000, 1};
  }
  AddTelephoneEvent(m, kRelayTelephoneEventPayloadType, std::string(kDefaultEventRange));
  m.ptime = kAnswerPtimeMs;
  m.direction = Direction::kSendRecv;
  offer.media.push_back(std::move(m));
  return offer;
}

Result<Negotiation> Negotiate(const SessionDescription& offer, const LocalMedia& local) {
  Negotiation result;
  result.answer = SessionFor(local);
  bool accepted = false;
  for (std::size_t i = 0; i < offer.media.size(); ++i) {
    const MediaDescription& offered = offer.media[i];
    std::optional<NegotiatedAudio> audio;
    if (!accepted) audio = Accept(offer, offered);
    if (audio) {
      accepted = true;
      audio->media_index = i;
      result.audio = *audio;
      result.answer.media.push_back(AcceptedMedia(offered, *audio, local));
    } else {
      result.answer.media.push_back(RejectedMedia(offered));
    }
  }
  if (!accepted) {
    return InvalidArgument(
        "no common codec: the offer has no RTP/AVP audio stream with PCMU or PCMA");
  }
  return result;
}

}  // namespace cc::relay
