#include <chatd/core/clock.hpp>

#include <array>
#include <chrono>
#include <string_view>

namespace chatd::core {
namespace {

/// A time split into calendar fields, UTC (proleptic Gregorian, as std::chrono counts).
struct utc_fields
{
    int year;
    unsigned month, day, hour, minute, second, millis;
};

utc_fields utc_parts(epoch_ms t)
{
    using namespace std::chrono;
    sys_time<milliseconds> tp{milliseconds{t}};
    auto day = floor<days>(tp);
    year_month_day ymd{day};
    hh_mm_ss hms{tp - day};
    return utc_fields{int(ymd.year()),
                      unsigned(ymd.month()),
                      unsigned(ymd.day()),
                      unsigned(hms.hours().count()),
                      unsigned(hms.minutes().count()),
                      unsigned(hms.seconds().count()),
                      unsigned(hms.subseconds().count())};
}

/// Write `v` as exactly `width` decimal digits (zero-padded, extra high digits dropped).
char* put_digits(char* p, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; --i) {
        p[i] = static_cast<char>('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

/// Years outside 0..9999 are clamped: ISO-8601's basic form has four digits.
unsigned four_digit_year(int year)
{
    return year < 0 ? 0u : year > 9999 ? 9999u : unsigned(year);
}

} // namespace

epoch_ms system_clock::now() const
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string format_request_time(epoch_ms t)
{
    static constexpr std::array<char const*, 12> months = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    auto u = utc_parts(t);
    char buf[32];
    char* p = put_digits(buf, u.day, 2);
    *p++ = '/';
    for (char const* m = months[u.month - 1]; *m; ++m)
        *p++ = *m;
    *p++ = '/';
    p = put_digits(p, four_digit_year(u.year), 4);
    *p++ = ':';
    p = put_digits(p, u.hour, 2);
    *p++ = ':';
    p = put_digits(p, u.minute, 2);
    *p++ = ':';
    p = put_digits(p, u.second, 2);
    for (char c : std::string_view(" +0000"))
        *p++ = c;
    return std::string(buf, p);
}

void append_iso8601(std::string& out, epoch_ms t)
{
    auto u = utc_parts(t);
    char buf[24];
    char* p = put_digits(buf, four_digit_year(u.year), 4);
    *p++ = '-';
    p = put_digits(p, u.month, 2);
    *p++ = '-';
    p = put_digits(p, u.day, 2);
    *p++ = 'T';
    p = put_digits(p, u.hour, 2);
    *p++ = ':';
    p = put_digits(p, u.minute, 2);
    *p++ = ':';
    p = put_digits(p, u.second, 2);
    *p++ = '.';
    p = put_digits(p, u.millis, 3);
    *p++ = 'Z';
    out.append(buf, p);
}

std::string format_iso8601(epoch_ms t)
{
    std::string out;
    append_iso8601(out, t);
    return out;
}

} // namespace chatd::core
