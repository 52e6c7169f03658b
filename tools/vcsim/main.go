// Command vcsim serves govmomi's vCenter simulator (the VPX model) over TLS for Ferry's tests.
// Debian's golang-github-vmware-govmomi-dev ships the simulator library but not its command;
// tools/ensure-vcsim.sh builds this one. It prints "vcsim ready url=<url>" once it listens.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

func main() {
	listen := flag.String("l", "127.0.0.1:0", "address to listen on (port 0: a free port)")
	certFile := flag.String("cert-file", "", "where to write the server certificate (PEM)")
	username := flag.String("username", "", "the only user accepted (empty: any non-empty user and password)")
	password := flag.String("password", "", "that user's password")
	vms := flag.Int("vm", 2, "VMs per standalone host and per cluster")
	quirks := flag.String("quirks", "", "name of a VM to give EFI, secure boot, CBT, encryption, a vTPM, an independent and a shared disk")
	rdm := flag.String("rdm", "", "name of a VM to give a physical and a virtual RDM (vcsim panics removing its snapshots)")
	flag.Parse()

	model := simulator.VPX()
	model.Machine = *vms
	if err := model.Create(); err != nil {
		log.Fatal(err)
	}
	defer model.Remove()
	if *quirks != "" {
		addQuirks(findVM(*quirks))
	}
	if *rdm != "" {
		addRDMs(findVM(*rdm))
	}

	// Our own P-256 certificate: the simulator's built-in one has a 1024-bit RSA key.
	cert, certPEM := selfSigned()
	model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	model.Service.Listen = &url.URL{Host: *listen}
	if *username != "" {
		model.Service.Listen.User = url.UserPassword(*username, *password)
	}
	server := model.Service.NewServer()
	defer server.Close()
	if *certFile != "" {
		if err := os.WriteFile(*certFile, certPEM, 0o644); err != nil {
			log.Fatal(err)
		}
	}

	u := *server.URL
	u.User = nil
	fmt.Printf("vcsim ready url=%s\n", u.String())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}

func selfSigned() (tls.Certificate, []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "vcsim", Organization: []string{"Ferry tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func findVM(name string) *simulator.VirtualMachine {
	for _, e := range simulator.Map.All("VirtualMachine") {
		if vm, ok := e.(*simulator.VirtualMachine); ok && vm.Name == name {
			return vm
		}
	}
	log.Fatalf("no VM named %q", name)
	return nil
}

// addQuirks gives the VM EFI with secure boot, CBT, encryption, a vTPM and two more disks on its SCSI
// controller: an independent one and a multi-writer one.
func addQuirks(vm *simulator.VirtualMachine) {
	c := vm.Config
	c.Firmware = string(types.GuestOsDescriptorFirmwareTypeEfi)
	c.BootOptions = &types.VirtualMachineBootOptions{EfiSecureBootEnabled: types.NewBool(true)}
	c.ChangeTrackingEnabled = types.NewBool(true)
	c.KeyId = &types.CryptoKeyId{KeyId: "ferry-test-key", ProviderId: &types.KeyProviderId{Id: "ferry-kms"}}
	addDisk(vm, "independent.vmdk", func(f types.VirtualDeviceFileBackingInfo) types.BaseVirtualDeviceBackingInfo {
		return &types.VirtualDiskFlatVer2BackingInfo{
			VirtualDeviceFileBackingInfo: f, DiskMode: "independent_persistent", ThinProvisioned: types.NewBool(true),
		}
	})
	addDisk(vm, "shared.vmdk", func(f types.VirtualDeviceFileBackingInfo) types.BaseVirtualDeviceBackingInfo {
		return &types.VirtualDiskFlatVer2BackingInfo{
			VirtualDeviceFileBackingInfo: f, DiskMode: "persistent", ThinProvisioned: types.NewBool(false),
			Sharing: "sharingMultiWriter",
		}
	})
	c.Hardware.Device = append(c.Hardware.Device, &types.VirtualTPM{VirtualDevice: types.VirtualDevice{
		Key: 11000, DeviceInfo: &types.Description{Label: "Virtual TPM", Summary: "Virtual TPM"},
	}})
}

// addRDMs gives the VM a physical and a virtual raw device mapping. vcsim 0.24's snapshot removal
// assumes every disk has a flat backing (updateDiskLayouts) and panics on this VM.
func addRDMs(vm *simulator.VirtualMachine) {
	for i, mode := range []string{"physicalMode", "virtualMode"} {
		lun := fmt.Sprintf("/vmfs/devices/disks/naa.60000000000000000000000000000%03d", i+1)
		addDisk(vm, fmt.Sprintf("rdm-%d.vmdk", i+1), func(f types.VirtualDeviceFileBackingInfo) types.BaseVirtualDeviceBackingInfo {
			return &types.VirtualDiskRawDiskMappingVer1BackingInfo{
				VirtualDeviceFileBackingInfo: f, CompatibilityMode: mode, DeviceName: lun, DiskMode: "persistent",
			}
		})
	}
}

// addDisk adds a 2 MiB disk on the VM's first pvscsi controller, at its next free unit.
func addDisk(vm *simulator.VirtualMachine, file string,
	backing func(types.VirtualDeviceFileBackingInfo) types.BaseVirtualDeviceBackingInfo) {
	devices := vm.Config.Hardware.Device
	var scsi *types.ParaVirtualSCSIController
	key, unit := int32(0), int32(0)
	for _, d := range devices {
		if s, ok := d.(*types.ParaVirtualSCSIController); ok && scsi == nil {
			scsi = s
		}
		if k := d.GetVirtualDevice().Key; k > key {
			key = k
		}
	}
	if scsi == nil {
		log.Fatalf("VM %q has no pvscsi controller", vm.Name)
	}
	for _, d := range devices {
		if v := d.GetVirtualDevice(); v.ControllerKey == scsi.Key && v.UnitNumber != nil && *v.UnitNumber >= unit {
			unit = *v.UnitNumber + 1
		}
	}
	key++
	scsi.Device = append(scsi.Device, key)
	f := types.VirtualDeviceFileBackingInfo{FileName: fmt.Sprintf("[LocalDS_0] %s/%s", vm.Name, file)}
	vm.Config.Hardware.Device = append(devices, &types.VirtualDisk{
		VirtualDevice: types.VirtualDevice{
			Key: key, ControllerKey: scsi.Key, UnitNumber: types.NewInt32(unit), Backing: backing(f),
			DeviceInfo: &types.Description{Label: fmt.Sprintf("Hard disk %d", unit+1), Summary: "2,048 KB"},
		},
		CapacityInKB: 2048, CapacityInBytes: 2048 * 1024,
	})
}
