#!/bin/sh
# Vagrant's provisioner (vm/Vagrantfile), as root in the guest: installs what the harness needs and the
# box lacks. The arguments are ./lab's own Debian packages. The project's box (./lab vm vagrant-box) has
# everything already, so there this only checks and needs no network; any other Debian 12 box gets the
# packages, the running kernel's headers (BCC compiles against them), Jupyter and Node >= 20.5
# (Debian 12's nodejs is 18: NodeSource's node_20.x, as on the development machine).
set -eu
export DEBIAN_FRONTEND=noninteractive

want="$* linux-headers-$(uname -r) rsync jupyter-notebook python3-nbclient python3-nbconvert"
# one dpkg-query for all (each process start counts under TCG); a package it does not know is missing too
installed="$(dpkg-query -W -f='${Package} ${Status}\n' $want 2>/dev/null | awk '/ install ok installed$/ { print $1 }')"
missing=""
for p in $want; do
  echo "$installed" | grep -qx "$p" || missing="$missing $p"
done

node_ok() {
  command -v node >/dev/null && node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=5)?0:1)'
}

if [ -n "$missing" ]; then
  echo "ebpf-lab provision: installing$missing"
  apt-get update -q
  apt-get install -y -q --no-install-recommends $missing
fi
if ! node_ok; then
  echo "ebpf-lab provision: installing Node 20 from NodeSource (Debian 12's nodejs is 18)"
  apt-get install -y -q --no-install-recommends ca-certificates curl gnupg
  curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key | gpg --dearmor --yes -o /usr/share/keyrings/nodesource.gpg
  echo "deb [signed-by=/usr/share/keyrings/nodesource.gpg] https://deb.nodesource.com/node_20.x nodistro main" > /etc/apt/sources.list.d/nodesource.list
  apt-get update -q
  apt-get install -y -q nodejs
fi
# tracefs where the tools look for it (systemd mounts it on most boxes; this is for the others)
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
echo "ebpf-lab provision: ready ($(node --version), kernel $(uname -r), BTF: $([ -e /sys/kernel/btf/vmlinux ] && echo yes || echo no))"
