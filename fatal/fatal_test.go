package fatal

import (
	"reflect"
	"strings"
	"testing"
)

// TestThrowPanicsOnHost: outside the kernel a throw is a panic that
// carries the message, and a second throw works again afterwards.
func TestThrowPanicsOnHost(t *testing.T) {
	for i := 0; i < 2; i++ {
		func() {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.Contains(s, "mm: double free") {
					t.Fatalf("recovered %v, want the throw's message", r)
				}
			}()
			Throw("mm: double free")
			t.Fatal("Throw returned")
		}()
	}
}

func TestAssert(t *testing.T) {
	Assert(true, "never")
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("Assert(false) did not throw")
		}
	}()
	Assert(false, "broken")
}

// TestCallerPC: the pc a handler gets is inside the function that threw.
func TestCallerPC(t *testing.T) {
	var got uintptr
	SetHandler(func(msg string, pc uintptr) { got = pc; throwing.Store(false); panic(msg) })
	defer func() { handler = 0 }()
	func() {
		defer func() { recover() }()
		thrower()
	}()
	start := reflect.ValueOf(thrower).Pointer()
	if got <= start || got >= start+256 {
		t.Fatalf("pc %#x, want within thrower at %#x", got, start)
	}
}

//go:noinline
func thrower() { Throw("from thrower") }

func TestCatch(t *testing.T) {
	if msg := Catch(func() { Throw("broken") }); msg != "broken" {
		t.Errorf("Catch of a throw = %q", msg)
	}
	if msg := Catch(func() {}); msg != "" {
		t.Errorf("Catch of a return = %q", msg)
	}
	defer func() {
		if r := recover(); r != "other" {
			t.Errorf("a panic that is not a throw: recovered %v", r)
		}
	}()
	Catch(func() { panic("other") })
}
