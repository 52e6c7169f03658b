# One image for all seven services; FERRY_APP picks which one runs.
#   docker build -t ferry .   &&   docker run -e FERRY_APP=gateway ferry
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.build.json ./
COPY apps apps
COPY libs libs
COPY test test
COPY tools tools
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json /app/tsconfig.base.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist/apps dist/apps
# The web console: static files the gateway serves at /.
COPY --from=build /app/dist/console dist/console
COPY --from=build /app/dist/libs/contracts dist/libs/contracts
COPY --from=build /app/dist/libs/guest dist/libs/guest
COPY --from=build /app/dist/libs/platform dist/libs/platform
COPY --from=build /app/dist/libs/qemu dist/libs/qemu
COPY --from=build /app/tools/register-paths.js tools/register-paths.js
USER node
# SIGTERM reaches node directly (exec), so each service drains in-flight work before it exits.
ENTRYPOINT ["sh", "-c", "exec node -r ./tools/register-paths.js \"dist/apps/${FERRY_APP:?set FERRY_APP}/src/main.js\" \"$@\"", "--"]

# vm-operator runs QEMU: the same image plus qemu-system-x86 and qemu-utils. It needs /dev/kvm from
# the host for KVM (TCG otherwise; the kvm group or root to open it). In a container, VMs live as long
# as the container: they outlive a vm-operator crash only when vm-operator runs on the host itself.
# volume-daemon uses this image too (FERRY_APP=volume-daemon) for qemu-img, and for its imports nbdkit
# (the curl plugin and the retry filter stream a vSphere or https disk) and qemu-nbd, with the disk
# directory shared with vm-operator. host-capability uses it too: its local driver asks this QEMU, and its
# libvirt driver runs virsh (libvirt-clients; openssh-client for qemu+ssh:// URIs). VM networking's bridge
# mode runs `ip` (iproute2) and dnsmasq (dnsmasq-base) for the VMs' bridge, taps and DHCP.
FROM runtime AS vm-operator
USER root
RUN apt-get update && apt-get install -y --no-install-recommends qemu-system-x86 qemu-utils nbdkit \
    libvirt-clients openssh-client dnsmasq-base iproute2 \
    && rm -rf /var/lib/apt/lists/* && mkdir -p /var/lib/ferry/vms /var/lib/ferry/disks \
    && chown node /var/lib/ferry/vms /var/lib/ferry/disks
USER node
ENV FERRY_APP=vm-operator

# The inspector: qemu-img for the first pass and libguestfs (virt-inspector/guestfish, with supermin and
# a kernel for its appliance) for deep inspection of vm-operator's frozen disks, read from the disk
# directory it shares with vm-operator. The appliance is built on first use under /var/tmp.
FROM runtime AS inspector
USER root
RUN apt-get update && apt-get install -y --no-install-recommends qemu-utils qemu-system-x86 libguestfs-tools \
    linux-image-amd64 nbdkit && rm -rf /var/lib/apt/lists/*
USER node
ENV FERRY_APP=inspector LIBGUESTFS_BACKEND=direct

# volume-daemon: the vm-operator image (qemu-img, nbdkit, qemu-nbd for its imports) plus what a
# migration's FIX runs on the volumes: libguestfs (guestfish, read-write, with supermin and a kernel
# for its appliance) and virt-v2v (virt-v2v-in-place; usb.ids and pci.ids come with libosinfo). The
# appliance is built on first use under /var/tmp, which needs 1 GB free for virt-v2v.
FROM vm-operator AS volume-daemon
USER root
RUN apt-get update && apt-get install -y --no-install-recommends libguestfs-tools linux-image-amd64 virt-v2v \
    && rm -rf /var/lib/apt/lists/*
USER node
ENV FERRY_APP=volume-daemon LIBGUESTFS_BACKEND=direct

# The default target: every other service.
FROM runtime
