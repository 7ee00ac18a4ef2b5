#!/usr/bin/env bash
# As root (CI, or `npm test` run as root): the unprivileged test user the integration tests run as,
# its /etc/subuid and /etc/subgid entries, /dev/net/tun usable by users, and a
# checkout that user can reach.
set -euo pipefail
cd "$(dirname "$0")/.."
user="${RK_TEST_USER:-rktest}"
if ! id "$user" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash "$user"
fi
grep -q "^$user:" /etc/subuid || usermod --add-subuids 200000-265535 "$user"
grep -q "^$user:" /etc/subgid || usermod --add-subgids 200000-265535 "$user"
if [ -e /dev/net/tun ]; then chmod 0666 /dev/net/tun; fi
# The user must be able to traverse every parent of the checkout and read it.
dir="$(pwd)"
while [ "$dir" != "/" ]; do
  chmod o+x "$dir"
  dir="$(dirname "$dir")"
done
chmod -R o+rX .
echo "[test-user] $user: $(grep "^$user:" /etc/subuid) / $(grep "^$user:" /etc/subgid)"
# A second user with its own subordinate IDs: the second host's rootless
# dockerd in hack/integration-swarm.sh.
user_b="${RK_TEST_USER_B:-rktest-b}"
id "$user_b" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user_b"
grep -q "^$user_b:" /etc/subuid || usermod --add-subuids 300000-365535 "$user_b"
grep -q "^$user_b:" /etc/subgid || usermod --add-subgids 300000-365535 "$user_b"
echo "[test-user] $user_b: $(grep "^$user_b:" /etc/subuid) / $(grep "^$user_b:" /etc/subgid)"
# A second user without subordinate IDs, for the "no subuid entry" error path.
nosub="${RK_TEST_USER_NOSUBID:-rktest-nosubid}"
id "$nosub" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$nosub"
sed -i "/^$nosub:/d" /etc/subuid /etc/subgid
# A third user, also without subordinate IDs, that the security tests use as
# another local user trying to interfere (watching /tmp, planting symlinks).
attacker="${RK_TEST_USER_ATTACKER:-rktest-attacker}"
id "$attacker" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$attacker"
sed -i "/^$attacker:/d" /etc/subuid /etc/subgid
