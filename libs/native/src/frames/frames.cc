// Ethernet frames between a tap device and a byte stream that carries them
// with a 2-byte length before each frame: vde_plug's stream (big-endian
// length) and vpnkit's vmnet protocol (little-endian). Two dedicated threads
// per pump, one per direction, each blocking in poll(); no frame ever reaches
// JavaScript. The JS side learns only that the pump ended, and why.
//
// Also here: the small socket and tap set-up calls the drivers that use such a
// pump need (connect to a unix socket, a tap's MAC address, a UDP socket bound
// to a device for DHCP).
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "common/errors.h"
#include "common/exports.h"

namespace rk {

namespace {

constexpr size_t kMaxFrame = 65535;
// Room for many frames per read() on the stream side.
constexpr size_t kStreamBuf = 256 * 1024;
// Frames read from the tap before one write to the stream.
constexpr int kBatch = 32;
constexpr size_t kTapBatchBuf = 256 * 1024;

struct Pump {
  int tap = -1;
  int in = -1;   // stream we read frames from
  int out = -1;  // stream we write frames to (the same fd for a socket)
  int stop = -1;  // eventfd: written by Stop
  bool little_endian = false;
  std::thread to_stream, to_tap;
  std::atomic<bool> ended{false};
  std::atomic<bool> stopping{false};
  std::string reason;
  Napi::ThreadSafeFunction tsfn;
  // Counters, read by stats().
  std::atomic<uint64_t> frames_out{0}, frames_in{0}, dropped{0};
};

std::mutex g_mu;
std::map<int, Pump*> g_pumps;
int g_next_id = 1;

// Reports the first end of either direction to JS, once.
void End(Pump* p, const std::string& why) {
  if (p->stopping) return;
  bool expected = false;
  if (!p->ended.compare_exchange_strong(expected, true)) return;
  // Wake the other direction.
  uint64_t one = 1;
  ssize_t w;
  do w = write(p->stop, &one, sizeof one); while (w < 0 && errno == EINTR);
  std::string* msg = new std::string(why);
  napi_status st = p->tsfn.BlockingCall(msg, [](Napi::Env env, Napi::Function fn, std::string* m) {
    std::string s = *m;
    delete m;
    fn.Call({Napi::String::New(env, s)});
  });
  if (st != napi_ok) delete msg;
}

std::string Err(const char* what, int err) {
  return std::string(what) + ": " + ErrnoName(err) + " (" + strerror(err) + ")";
}

// Waits until fd is readable (or writable) or the pump is stopped; false when stopped.
bool Wait(Pump* p, int fd, short events = POLLIN) {
  struct pollfd fds[2] = {{fd, events, 0}, {p->stop, POLLIN, 0}};
  for (;;) {
    int r = poll(fds, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return false;
    if (fds[1].revents) return false;
    if (fds[0].revents) return true;
  }
}

// Writes all of iov to the non-blocking fd, waiting for room (back-pressure);
// false with errno set on an error, or with errno 0 when the pump stopped.
bool WriteAll(Pump* p, int fd, struct iovec* iov, int n) {
  while (n > 0) {
    ssize_t w = writev(fd, iov, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {
      if (!Wait(p, fd, POLLOUT)) {
        errno = 0;
        return false;
      }
      continue;
    }
    if (w < 0) return false;
    size_t left = (size_t)w;
    while (n > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      iov++;
      n--;
    }
    if (n > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return true;
}

// tap -> stream: the frames the tap has ready (up to kBatch), each after its
// length, go out in one write.
void TapToStream(Pump* p) {
  uint8_t* buf = new uint8_t[kTapBatchBuf];
  for (;;) {
    if (!Wait(p, p->tap)) break;
    size_t off = 0;
    int frames = 0;
    bool gone = false;
    while (frames < kBatch && kTapBatchBuf - off >= kMaxFrame + 2) {
      ssize_t n = read(p->tap, buf + off + 2, kMaxFrame);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      if (n <= 0) {
        End(p, n == 0 || errno == EBADFD || errno == EIO ? "the tap device went away" : Err("read from the tap", errno));
        gone = true;
        break;
      }
      if (p->little_endian) {
        buf[off] = (uint8_t)(n & 0xff);
        buf[off + 1] = (uint8_t)(n >> 8);
      } else {
        buf[off] = (uint8_t)(n >> 8);
        buf[off + 1] = (uint8_t)(n & 0xff);
      }
      off += 2 + (size_t)n;
      frames++;
    }
    if (off > 0) {
      struct iovec iov = {buf, off};
      if (!WriteAll(p, p->out, &iov, 1)) {
        if (errno != 0) End(p, errno == EPIPE || errno == ECONNRESET ? "the peer closed the connection" : Err("write to the peer", errno));
        break;
      }
      p->frames_out += frames;
    }
    if (gone) break;
  }
  delete[] buf;
}

// stream -> tap: reads what is there, writes each complete frame to the tap.
void StreamToTap(Pump* p) {
  uint8_t* buf = new uint8_t[kStreamBuf];
  size_t have = 0;
  for (;;) {
    if (!Wait(p, p->in)) break;
    ssize_t n = read(p->in, buf + have, kStreamBuf - have);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      End(p, n == 0 || errno == ECONNRESET ? "the peer closed the connection" : Err("read from the peer", errno));
      break;
    }
    have += (size_t)n;
    size_t off = 0;
    while (have - off >= 2) {
      size_t len = p->little_endian ? (size_t)(buf[off] | (buf[off + 1] << 8)) : (size_t)((buf[off] << 8) | buf[off + 1]);
      if (have - off - 2 < len) break;
      if (len > 0) {
        ssize_t w;
        do w = write(p->tap, buf + off + 2, len); while (w < 0 && errno == EINTR);
        if (w < 0 && (errno == EBADFD || errno == EIO)) {
          End(p, "the tap device went away");
          delete[] buf;
          return;
        }
        if (w < 0) p->dropped++;
        else p->frames_in++;
      }
      off += 2 + len;
    }
    memmove(buf, buf + off, have - off);
    have -= off;
  }
  delete[] buf;
}

Pump* Find(int id) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_pumps.find(id);
  return it == g_pumps.end() ? nullptr : it->second;
}

void SetBlocking(int fd, bool blocking) {
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) fcntl(fd, F_SETFL, blocking ? (fl & ~O_NONBLOCK) : (fl | O_NONBLOCK));
}

}  // namespace

// startFramePump(tapFd, inFd, outFd, littleEndian, onEnd(reason)) -> id.
// inFd and outFd may be the same socket. The pump owns the fds from here on
// (closed by stopFramePump). onEnd does not keep the event loop alive.
Napi::Value StartFramePump(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Pump* p = new Pump();
  p->tap = info[0].As<Napi::Number>().Int32Value();
  p->in = info[1].As<Napi::Number>().Int32Value();
  p->out = info[2].As<Napi::Number>().Int32Value();
  p->little_endian = info[3].ToBoolean();
  p->stop = eventfd(0, EFD_CLOEXEC);
  if (p->stop < 0) {
    int err = errno;
    delete p;
    throw ErrnoError(env, err, "eventfd");
  }
  // Every fd non-blocking: reads after poll(), writes wait in poll() for room.
  SetBlocking(p->tap, false);
  SetBlocking(p->in, false);
  SetBlocking(p->out, false);
  p->tsfn = Napi::ThreadSafeFunction::New(env, info[4].As<Napi::Function>(), "rk-frames", 0, 1);
  p->tsfn.Unref(env);
  p->to_stream = std::thread(TapToStream, p);
  p->to_tap = std::thread(StreamToTap, p);
  std::lock_guard<std::mutex> lock(g_mu);
  int id = g_next_id++;
  g_pumps[id] = p;
  return Napi::Number::New(env, id);
}

// stopFramePump(id): stops both threads, waits for them, closes the fds. Idempotent.
Napi::Value StopFramePump(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int id = info[0].As<Napi::Number>().Int32Value();
  Pump* p;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_pumps.find(id);
    if (it == g_pumps.end()) return env.Undefined();
    p = it->second;
    g_pumps.erase(it);
  }
  // Marked first so that the threads' wake-up is not reported as an end.
  p->stopping = true;
  uint64_t one = 1;
  ssize_t w;
  do w = write(p->stop, &one, sizeof one); while (w < 0 && errno == EINTR);
  p->to_stream.join();
  p->to_tap.join();
  close(p->tap);
  close(p->in);
  if (p->out != p->in) close(p->out);
  close(p->stop);
  p->tsfn.Release();
  delete p;
  return env.Undefined();
}

// framePumpStats(id) -> {framesOut, framesIn, dropped} or undefined.
Napi::Value FramePumpStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Pump* p = Find(info[0].As<Napi::Number>().Int32Value());
  if (!p) return env.Undefined();
  Napi::Object o = Napi::Object::New(env);
  o.Set("framesOut", Napi::Number::New(env, (double)p->frames_out.load()));
  o.Set("framesIn", Napi::Number::New(env, (double)p->frames_in.load()));
  o.Set("dropped", Napi::Number::New(env, (double)p->dropped.load()));
  return o;
}

// setTapMac(tapFd, mac: Buffer(6)): the tap's MAC address, set through its own fd.
Napi::Value SetTapMac(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Buffer<uint8_t> mac = info[1].As<Napi::Buffer<uint8_t>>();
  if (mac.Length() != 6) throw Napi::TypeError::New(env, "setTapMac: a MAC address is 6 bytes");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
  memcpy(ifr.ifr_hwaddr.sa_data, mac.Data(), 6);
  if (ioctl(fd, SIOCSIFHWADDR, &ifr) < 0) throw ErrnoError(env, errno, "ioctl", "SIOCSIFHWADDR");
  return env.Undefined();
}

// ifMac(sockFd, ifname) -> Buffer(6): the MAC address of an interface in the
// network namespace the socket was made in (SIOCGIFHWADDR).
Napi::Value IfMac(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  std::string name = info[1].ToString().Utf8Value();
  if (name.size() >= IFNAMSIZ) throw ErrnoError(env, ENAMETOOLONG, "ioctl", name);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name.c_str(), name.size());
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) throw ErrnoError(env, errno, "ioctl", "SIOCGIFHWADDR " + name);
  return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<uint8_t*>(ifr.ifr_hwaddr.sa_data), 6);
}

// connectUnix(path) -> fd: a connected unix stream socket (close-on-exec,
// non-blocking). Throws ENOENT / ECONNREFUSED while nobody listens there.
Napi::Value ConnectUnix(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].ToString().Utf8Value();
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw ErrnoError(env, ENAMETOOLONG, "connect", path);
  memcpy(addr.sun_path, path.c_str(), path.size());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw ErrnoError(env, errno, "socket");
  int r;
  do r = connect(fd, (struct sockaddr*)&addr, sizeof addr); while (r < 0 && errno == EINTR);
  if (r < 0) {
    int err = errno;
    close(fd);
    throw ErrnoError(env, err, "connect", path);
  }
  SetBlocking(fd, false);
  return Napi::Number::New(env, fd);
}

// setNonBlocking(fd, on): O_NONBLOCK on or off (e.g. for a pipe from makePipe).
Napi::Value SetNonBlocking(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, info[1].ToBoolean() ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK)) < 0) {
    throw ErrnoError(env, errno, "fcntl", "O_NONBLOCK");
  }
  return env.Undefined();
}

// bindUdpToDevice(fd, ifname, port): SO_REUSEADDR, SO_BROADCAST and
// SO_BINDTODEVICE on a UDP socket (made inside a network namespace), then
// bind(0.0.0.0:port). What a DHCP client needs before the interface has an
// address. Our process owns the namespace's user namespace, which gives it
// the capabilities these need there.
Napi::Value BindUdpToDevice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  std::string ifname = info[1].ToString().Utf8Value();
  int port = info[2].As<Napi::Number>().Int32Value();
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) throw ErrnoError(env, errno, "setsockopt", "SO_REUSEADDR");
  if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) < 0) throw ErrnoError(env, errno, "setsockopt", "SO_BROADCAST");
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(), (socklen_t)ifname.size()) < 0) {
    throw ErrnoError(env, errno, "setsockopt", "SO_BINDTODEVICE " + ifname);
  }
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_port = htons((uint16_t)port);
  sin.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(fd, (struct sockaddr*)&sin, sizeof sin) < 0) throw ErrnoError(env, errno, "bind", "0.0.0.0:" + std::to_string(port));
  return env.Undefined();
}

}  // namespace rk
