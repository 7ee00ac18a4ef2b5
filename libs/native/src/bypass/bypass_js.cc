// The bypass's JS binding: start and stop the supervisor, read its counters,
// receive its events in batches (per-connection ones only while debug is on),
// and install the filter on the calling thread (rk-bypass, right before execve).
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bypass/bypass.h"
#include "common/errors.h"
#include "common/exports.h"

namespace rk {

namespace {

using bypass::Event;

struct Box {
  std::unique_ptr<bypass::Supervisor> sup;
  Napi::ThreadSafeFunction tsfn;
  bool has_tsfn = false;
  bool closed = false;
  void Close() {
    if (closed) return;
    closed = true;
    sup.reset();
    if (has_tsfn) tsfn.Release();
  }
  ~Box() { Close(); }
};

const char* KindName(Event::Kind k) {
  switch (k) {
    case Event::kBypass: return "bypass";
    case Event::kLimit: return "limit";
    case Event::kIdle: return "idle";
  }
  return "?";
}

void Deliver(Napi::Env env, Napi::Function fn, std::vector<Event>* batch) {
  if (env != nullptr && fn != nullptr) {
    Napi::Array a = Napi::Array::New(env, batch->size());
    for (size_t i = 0; i < batch->size(); i++) {
      const Event& e = (*batch)[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("kind", KindName(e.kind));
      if (e.pid) o.Set("pid", Napi::Number::New(env, e.pid));
      if (e.type) o.Set("proto", e.type == SOCK_STREAM ? "tcp" : "udp");
      if (!e.dst.empty()) o.Set("dst", e.dst);
      if (e.err) o.Set("code", ErrnoName(e.err));
      if (!e.what.empty()) o.Set("what", e.what);
      a.Set((uint32_t)i, o);
    }
    fn.Call({a});
  }
  delete batch;
}

Box* BoxOf(const Napi::CallbackInfo& info) {
  Box* b = info[0].As<Napi::External<Box>>().Data();
  if (b->closed) throw Napi::Error::New(info.Env(), "bypass: closed");
  return b;
}

int Dup(Napi::Env env, const Napi::Value& v, const char* what) {
  int fd = v.As<Napi::Number>().Int32Value();
  int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (d < 0) throw ErrnoError(env, errno, "dup", what);
  return d;
}

}  // namespace

// bypassStart({listenFd, netlinkFd, netnsFd, ignore: string[], nested, maxInFlight}, onEvents?) -> handle.
// The fds are duplicated: the caller closes its own.
Napi::Value BypassStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = info[0].As<Napi::Object>();
  bypass::Config c;
  Napi::Value ig = o.Get("ignore");
  if (ig.IsArray()) {
    Napi::Array a = ig.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      std::string s = a.Get(i).ToString().Utf8Value();
      bypass::Cidr cidr;
      if (!bypass::ParseCidr(s, &cidr)) throw Napi::TypeError::New(env, "bypass: bad subnet " + s + " (e.g. 192.0.2.0/24)");
      c.ignore.push_back(cidr);
    }
  }
  struct stat st;
  int nsfd = o.Get("netnsFd").As<Napi::Number>().Int32Value();
  if (fstat(nsfd, &st) < 0) throw ErrnoError(env, errno, "fstat", "net namespace fd");
  c.netns_dev = st.st_dev;
  c.netns_ino = st.st_ino;
  c.nested = o.Get("nested").ToBoolean();
  if (o.Get("maxInFlight").IsNumber()) c.max_in_flight = o.Get("maxInFlight").As<Napi::Number>().Int32Value();
  c.listen_fd = Dup(env, o.Get("listenFd"), "bypass.sock");
  c.netlink_fd = Dup(env, o.Get("netlinkFd"), "netlink socket");
  Box* b = new Box();
  b->sup.reset(new bypass::Supervisor(std::move(c)));
  if (info.Length() > 1 && info[1].IsFunction()) {
    b->tsfn = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "rk-bypass", 0, 1);
    b->tsfn.Unref(env);
    b->has_tsfn = true;
    Napi::ThreadSafeFunction t = b->tsfn;
    b->sup->sink = [t](std::vector<Event>&& batch) mutable {
      auto* p = new std::vector<Event>(std::move(batch));
      if (t.NonBlockingCall(p, Deliver) != napi_ok) delete p;
    };
  }
  b->sup->Start();
  return Napi::External<Box>::New(env, b, [](Napi::Env, Box* box) { delete box; });
}

Napi::Value BypassStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Box* b = BoxOf(info);
  bypass::Stats& s = b->sup->stats;
  Napi::Object o = Napi::Object::New(env);
  o.Set("bypassed", Napi::Number::New(env, (double)s.bypassed.load()));
  o.Set("left", Napi::Number::New(env, (double)s.left.load()));
  o.Set("fallback", Napi::Number::New(env, (double)s.fallback.load()));
  o.Set("failed", Napi::Number::New(env, (double)s.failed.load()));
  o.Set("inFlight", Napi::Number::New(env, (double)s.in_flight.load()));
  o.Set("listeners", Napi::Number::New(env, (double)s.listeners.load()));
  o.Set("budgetHits", Napi::Number::New(env, (double)s.budget_hits.load()));
  return o;
}

Napi::Value BypassSetDebug(const Napi::CallbackInfo& info) {
  BoxOf(info)->sup->debug = info[1].ToBoolean();
  return info.Env().Undefined();
}

Napi::Value BypassStop(const Napi::CallbackInfo& info) {
  info[0].As<Napi::External<Box>>().Data()->Close();
  return info.Env().Undefined();
}

// bypassInstall(sockFd): installs the filter on this thread and hands its
// listener over sock (closed). Only right before execve: every later
// connect() of this thread waits for the supervisor.
Napi::Value BypassInstall(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  int err = bypass::InstallAndSend(fd);
  if (err) throw ErrnoError(info.Env(), err, "seccomp", "(installing the bypass filter)");
  return info.Env().Undefined();
}

}  // namespace rk
