export * from './qmp/qmp-client';
export * from './qmp/qmp-stdio';
export * from './img/image-info';
export * from './img/qemu-img';
export * from './kvm/kvm-probe';
export * from './guestfish/guestfish-session';
export * from './guestfish/libguestfs-env';
