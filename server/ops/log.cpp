#include "ops/log.hpp"

#include <chatd/core/clock.hpp>

#include <boost/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>

#include "ops/line_writer.hpp"

namespace chatd::server::log {
namespace {

level threshold = level::info;
format style = format::text;
std::mutex write_mutex;
std::unique_ptr<line_writer> writer; // set between start() and stop()

/// The level's name in text lines ("INFO") and in JSON lines ("info").
char const* name(level l, bool upper = true)
{
    static char const* const names[][2] = {
        {"DEBUG", "debug"}, {"INFO", "info"}, {"WARN", "warn"}, {"ERROR", "error"}};
    auto i = static_cast<std::size_t>(l);
    return names[i < 4 ? i : 1][upper ? 0 : 1];
}

void emit(std::string line)
{
    std::lock_guard lock(write_mutex);
    if (writer) {
        writer->write(std::move(line));
        return;
    }
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stderr);
}

std::string now_text()
{
    return core::format_iso8601(core::system_clock{}.now());
}

/// A text value: bare when it is a plain token, else JSON-quoted (so it stays one field).
std::string token(std::string_view v)
{
    bool plain = !v.empty();
    for (char c : v)
        if (c <= ' ' || c == '"' || c == '\\' || static_cast<unsigned char>(c) >= 0x7f)
            plain = false;
    return plain ? std::string(v) : boost::json::serialize(boost::json::string(v));
}

} // namespace

void set_level(level l)
{
    threshold = l;
}

bool enabled(level l)
{
    return l >= threshold;
}

void set_format(format f)
{
    style = f;
}

void start(std::atomic<std::uint64_t>* dropped)
{
    auto w = std::make_unique<line_writer>("-");
    w->count_drops_in(dropped);
    std::lock_guard lock(write_mutex);
    writer = std::move(w);
}

void stop()
{
    std::unique_ptr<line_writer> w;
    {
        std::lock_guard lock(write_mutex);
        w = std::move(writer);
    }
    if (w)
        w->close();
}

void write(level l, std::string_view text)
{
    if (l < threshold)
        return;
    if (style == format::json) {
        boost::json::object o;
        o["time"] = now_text();
        o["level"] = name(l, false);
        o["message"] = text;
        return emit(boost::json::serialize(o));
    }
    emit(now_text() + " " + name(l) + " " + std::string(text));
}

void event(level l, event_fields const& f)
{
    if (l < threshold)
        return;
    char latency[32] = "";
    if (f.latency_ms >= 0)
        std::snprintf(latency, sizeof latency, "%.3f", f.latency_ms);
    if (style == format::json) {
        boost::json::object o;
        o["time"] = now_text();
        o["level"] = name(l, false);
        o["event"] = f.event;
        o["connectionId"] = f.connection_id;
        o["route"] = f.route;
        o["outcome"] = f.outcome;
        if (f.latency_ms >= 0)
            o["latencyMs"] = std::strtod(latency, nullptr);
        if (f.code >= 0)
            o["code"] = f.code;
        if (!f.detail.empty())
            o["detail"] = f.detail;
        return emit(boost::json::serialize(o));
    }
    std::string line = now_text() + " " + name(l) + " " + std::string(f.event);
    line += " connection=" + (f.connection_id.empty() ? std::string("-") : token(f.connection_id));
    line += " route=" + (f.route.empty() ? std::string("-") : token(f.route));
    line += " outcome=" + token(f.outcome);
    if (f.latency_ms >= 0)
        line += std::string(" latency_ms=") + latency;
    if (f.code >= 0)
        line += " code=" + std::to_string(f.code);
    if (!f.detail.empty())
        line += " detail=" + boost::json::serialize(boost::json::string(f.detail));
    emit(std::move(line));
}

} // namespace chatd::server::log
