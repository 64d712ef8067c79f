#include "app/template_app.hpp"

#include <chatd/cfn/app.hpp>
#include <chatd/cfn/document.hpp>
#include <chatd/cfn/stack.hpp>

#include <boost/json/serialize.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "app/code_package.hpp"
#include "app/startup_error.hpp"
#include "integrations/http_integration.hpp"
#include <unistd.h>

namespace chatd::server {
namespace {

namespace fs = std::filesystem;

/// An executable on PATH, or nothing.
std::string find_on_path(std::string const& name)
{
    char const* path = std::getenv("PATH");
    std::string_view rest = path ? path : "/usr/local/bin:/usr/bin:/bin";
    while (!rest.empty()) {
        auto colon = rest.find(':');
        auto dir = rest.substr(0, colon);
        auto candidate = fs::path(dir.empty() ? "." : std::string(dir)) / name;
        if (::access(candidate.c_str(), X_OK) == 0)
            return candidate.string();
        if (colon == std::string_view::npos)
            break;
        rest.remove_prefix(colon + 1);
    }
    return {};
}

/// The first line `binary --version` prints ("v20.20.2", "Python 3.11.2"); run once at start.
std::string version_of(std::string const& binary)
{
    std::string out;
    if (FILE* p = ::popen((binary + " --version 2>&1").c_str(), "r")) {
        char buf[128];
        if (std::fgets(buf, sizeof buf, p))
            out = buf;
        ::pclose(p);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
        out.pop_back();
    return out;
}

/// "nodejs20.x" and "v20.20.2" name the same major version; "python3.11" and "Python 3.11.2"
/// the same minor one.
bool same_version(std::string const& runtime, std::string const& found)
{
    if (runtime.starts_with("nodejs")) {
        auto major = runtime.substr(6, runtime.find('.') - 6);
        return found.starts_with("v" + major + ".");
    }
    if (runtime.starts_with("python")) {
        auto wanted = runtime.substr(6);
        return found.starts_with("Python " + wanted + ".") || found == "Python " + wanted;
    }
    return true;
}

} // namespace

template_app load_template_app(config const& cfg)
{
    auto const& file = cfg.template_file;
    auto doc = cfn::load_document(file);
    if (auto const* err = std::get_if<std::string>(&doc))
        throw startup_error("--template " + *err);
    cfn::stack_options opt;
    opt.pseudo.region = cfg.region;
    for (auto const& [k, v] : cfg.parameter_overrides)
        opt.parameter_overrides[k] = v;
    auto resolved = cfn::resolve(std::get<boost::json::value>(doc), file, opt);
    if (auto const* err = std::get_if<std::string>(&resolved))
        throw startup_error("--template " + *err);
    auto const& stack = std::get<cfn::stack>(resolved);
    auto dir = fs::absolute(fs::path(file)).parent_path().string();
    auto read = cfn::read_app(stack, dir, file);
    if (auto const* err = std::get_if<std::string>(&read))
        throw startup_error("--template " + *err);
    auto& app = std::get<cfn::app>(read);

    if (app.apis.empty())
        throw startup_error("--template " + file +
                            ": no WebSocket API (AWS::Serverless::WebSocketApi, or "
                            "AWS::ApiGatewayV2::Api with ProtocolType WEBSOCKET)");
    if (app.apis.size() > 1)
        throw startup_error("--template " + file + ": " + std::to_string(app.apis.size()) +
                            " WebSocket APIs; chatd serves one per process");
    auto const& api = app.apis.front();

    template_app out;

    // Unpacked packages go again if the template turns out not to run.
    struct remove_unless_kept
    {
        std::string const& dir;
        bool keep = false;

        ~remove_unless_kept()
        {
            std::error_code ec;
            if (!keep && !dir.empty())
                fs::remove_all(dir, ec);
        }
    } unpacked{out.unpacked};

    out.api_id = api.api_id;
    out.api.selection_expression = api.route_selection_expression;
    if (cfg.stage_given) {
        if (!api.stages.empty() && !api.stages.count(cfg.stage))
            throw startup_error("--stage '" + cfg.stage +
                                "': the template's API has no such stage");
        out.stage = cfg.stage;
    } else if (api.stages.size() > 1) {
        std::string names;
        for (auto const& [name, vars] : api.stages)
            names += (names.empty() ? "" : ", ") + name;
        throw startup_error("--template " + file + ": the API has stages " + names +
                            ": pick one with --stage");
    } else {
        out.stage = api.stages.empty() ? cfg.stage : api.stages.begin()->first;
    }
    if (auto it = api.stages.find(out.stage); it != api.stages.end())
        out.stage_variables.assign(it->second.begin(), it->second.end());
    for (auto const& r : api.routes) {
        route_spec spec;
        spec.two_way = r.two_way;
        spec.integration = r.function.empty() ? r.http_url : "lambda:" + r.function;
        if (r.authorized && api.authorizer) {
            spec.authorizer = "lambda:" + api.authorizer->function;
            spec.identity_sources = api.authorizer->identity_sources;
        }
        if (!r.http_url.empty() && !parse_http_url(r.http_url))
            throw startup_error("--template " + file + ": route " + r.key + ": '" + r.http_url +
                                "' is not an http://host[:port]/path URL");
        out.api.routes[r.key] = spec;
    }

    auto runtimes = std::string(CHATD_DEFAULT_RUNTIMES_DIR);
    std::string node;
    std::string python;
    std::map<std::string, std::string> versions; // binary -> what --version said
    std::set<std::string> warned;                // runtimes already noted
    for (auto& f : app.functions) {
        if (!f.code_zip.empty()) {
            // A packaged function (CodeUri: fn.zip) runs from a private copy, as Lambda runs it.
            if (out.unpacked.empty()) {
                auto root = (fs::temp_directory_path() / "chatd-code-XXXXXX").string();
                if (!::mkdtemp(root.data()))
                    throw startup_error("--template " + file + ": cannot make a directory in " +
                                        fs::temp_directory_path().string() + " to unpack " +
                                        f.code_zip);
                out.unpacked = root;
            }
            f.code_dir = (fs::path(out.unpacked) / f.logical_id).string();
            try {
                unpack_zip(f.code_zip, f.code_dir);
            } catch (std::exception const& e) {
                throw startup_error("--template " + file + ": Resources." + f.logical_id + ": " +
                                    e.what());
            }
        }
        if (f.runtime.starts_with("python") && python.empty()) {
            python = find_on_path("python3");
            if (python.empty())
                throw startup_error("--template " + file + ": Resources." + f.logical_id +
                                    ": Runtime " + f.runtime + " needs python3 on PATH");
        }
        if (f.runtime.starts_with("nodejs") && node.empty()) {
            node = find_on_path("node");
            if (node.empty())
                throw startup_error("--template " + file + ": Resources." + f.logical_id +
                                    ": Runtime " + f.runtime + " needs node on PATH");
        }
        if (f.runtime.starts_with("provided") &&
            ::access((fs::path(f.code_dir) / "bootstrap").c_str(), X_OK) != 0)
            throw startup_error("--template " + file + ": Resources." + f.logical_id +
                                ": Runtime " + f.runtime + " needs an executable " + f.code_dir +
                                "/bootstrap");
        lambda_config lc;
        lc.name = f.name;
        lc.runtime = f.runtime;
        lc.handler = f.handler;
        lc.code_dir = f.code_dir;
        lc.environment = f.environment;
        lc.timeout = std::chrono::milliseconds(static_cast<long>(f.timeout_seconds * 1000));
        lc.memory_mb = f.memory_mb;
        lc.region = cfg.region;
        lc.account_id = stack.pseudo.account_id;
        lc.runtimes_dir = runtimes;
        lc.node = node;
        lc.python = python;
        lc.max_instances = cfg.max_instances;
        lc.integration_timeout = std::chrono::milliseconds(cfg.integration_timeout_ms);
        lc.idle_stop = std::chrono::milliseconds(cfg.instance_idle_ms);
        if (auto const& bin = f.runtime.starts_with("nodejs") ? node : python;
            !f.runtime.starts_with("provided")) {
            auto& found = versions[bin];
            if (found.empty())
                found = version_of(bin);
            if (!same_version(f.runtime, found) && warned.insert(f.runtime).second)
                out.notes.push_back(f.runtime + " (" + f.logical_id +
                                    " and any other) runs on this "
                                    "machine's " +
                                    bin + ", " + found);
        }
        out.functions.push_back(std::move(lc));
    }
    boost::json::array tables;
    for (auto const& t : app.tables) {
        tables.push_back(t.create_table);
        if (t.ttl_attribute)
            out.ttl.emplace_back(t.name, *t.ttl_attribute);
    }
    out.tables_json = boost::json::serialize(tables);
    if (!app.tables.empty() && node.empty()) {
        node = find_on_path("node");
        if (node.empty())
            throw startup_error("--template " + file +
                                ": the template's DynamoDB tables need node on PATH (chatd runs "
                                "dynalite for them)");
    }
    out.node = node;
    if (!app.not_emulated.empty()) {
        std::string list;
        for (auto const& n : app.not_emulated)
            list += (list.empty() ? "" : ", ") + n;
        out.notes.push_back("not emulated (no local behaviour): " + list);
    }
    unpacked.keep = true;
    return out;
}

} // namespace chatd::server
