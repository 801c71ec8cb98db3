package acpi

import (
	"errors"
	"fmt"
	"time"
)

// PM1 control register bits (ACPI 6.5, 4.8.3.2.1).
const (
	sciEn       = 1 << 0 // the chipset is in ACPI mode, not legacy (SMM) mode
	slpTypShift = 10
	slpTypMask  = 7 << slpTypShift
	slpEn       = 1 << 13 // enter the sleep state in SLP_TYP
)

// enableTries and enablePoll bound the wait for SCI_EN after ACPI_ENABLE to
// three seconds, as ACPICA's acpi_enable does. enablePoll is a variable so
// that tests need not wait.
const enableTries = 3000

var enablePoll = time.Millisecond

// PowerOff puts the machine into S5 (soft off). It returns nil once it has
// written SLP_EN; the caller halts if the machine is somehow still running.
//
// If the firmware left the chipset in legacy mode, PowerOff first asks it to
// switch to ACPI mode. If SCI_EN is still clear after the wait, PowerOff
// tries the sleep anyway, since many chipsets honour SLP_EN in legacy mode,
// and returns an error only if that too failed to stop the machine.
func (t *Tables) PowerOff(m Machine) error {
	f, err := t.FADT()
	if err != nil {
		return err
	}
	if f.PM1aCnt == 0 {
		return errors.New("acpi: FADT has no PM1a control port")
	}
	typA, typB, err := t.S5()
	if err != nil {
		return err
	}
	enableErr := enableACPI(m, f)

	// As ACPICA's acpi_hw_legacy_sleep: keep the other control bits, write
	// SLP_TYP alone, then SLP_TYP with SLP_EN, to PM1a and PM1b alike.
	base := m.Inw(f.PM1aCnt) &^ (slpTypMask | slpEn)
	a := base | uint16(typA)<<slpTypShift
	b := base | uint16(typB)<<slpTypShift
	writePM1(m, f, a, b)
	writePM1(m, f, a|slpEn, b|slpEn)
	return enableErr
}

func writePM1(m Machine, f *FADT, a, b uint16) {
	m.Outw(f.PM1aCnt, a)
	if f.PM1bCnt != 0 {
		m.Outw(f.PM1bCnt, b)
	}
}

// enableACPI switches the chipset from legacy to ACPI mode if the firmware
// left it in legacy mode and gave an SMI_CMD port: writing ACPI_ENABLE there
// asks the SMI handler to set SCI_EN.
func enableACPI(m Machine, f *FADT) error {
	if f.SMICmd == 0 || f.ACPIEnable == 0 || m.Inw(f.PM1aCnt)&sciEn != 0 {
		return nil
	}
	m.Outb(f.SMICmd, f.ACPIEnable)
	for range enableTries {
		if m.Inw(f.PM1aCnt)&sciEn != 0 {
			return nil
		}
		time.Sleep(enablePoll)
	}
	return fmt.Errorf("acpi: SCI_EN still clear %v after writing ACPI_ENABLE to port %#x", enableTries*enablePoll, f.SMICmd)
}

// Reset resets the machine through the FADT's reset register. It returns an
// error if the FADT offers none in I/O space; the caller then falls back to
// port 0xCF9 or the keyboard controller.
func (t *Tables) Reset(m Machine) error {
	f, err := t.FADT()
	if err != nil {
		return err
	}
	if !f.ResetSupported() {
		return errors.New("acpi: FADT has no reset register")
	}
	port, ok := f.ResetReg.port()
	if !ok {
		return fmt.Errorf("acpi: reset register %#x is in address space %d, not I/O", f.ResetReg.Address, f.ResetReg.Space)
	}
	m.Outb(port, f.ResetValue)
	return nil
}
