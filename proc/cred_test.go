package proc

import (
	"syscall"
	"testing"
)

// TestCredRules checks the set*id rules of credentials(7) on the user
// triple (the group calls share the functions): what root may do, what
// an unprivileged process may, and that a refused call changes nothing.
func TestCredRules(t *testing.T) {
	type ids struct{ r, e, s uint32 }
	for _, c := range []struct {
		name string
		from ids
		call func(r, e, s *uint32, priv bool) syscall.Errno
		want ids
		err  syscall.Errno
	}{
		{"root setuid sets all three", ids{0, 0, 0}, func(r, e, s *uint32, p bool) syscall.Errno { return setID(1000, r, e, s, p) }, ids{1000, 1000, 1000}, 0},
		{"setuid(-1) is EINVAL", ids{0, 0, 0}, func(r, e, s *uint32, p bool) syscall.Errno { return setID(noID, r, e, s, p) }, ids{0, 0, 0}, syscall.EINVAL},
		{"unprivileged setuid to the saved ID sets the effective one", ids{1000, 1001, 0}, func(r, e, s *uint32, p bool) syscall.Errno { return setID(0, r, e, s, p) }, ids{1000, 0, 0}, 0},
		{"unprivileged setuid elsewhere is EPERM", ids{1000, 1000, 1000}, func(r, e, s *uint32, p bool) syscall.Errno { return setID(0, r, e, s, p) }, ids{1000, 1000, 1000}, syscall.EPERM},
		{"setreuid swaps real and effective, saved follows", ids{1000, 1001, 1001}, func(r, e, s *uint32, p bool) syscall.Errno { return setREID(1001, 1000, r, e, s, p) }, ids{1001, 1000, 1000}, 0},
		{"setreuid(-1, real) leaves the saved ID", ids{1000, 1001, 1001}, func(r, e, s *uint32, p bool) syscall.Errno { return setREID(noID, 1000, r, e, s, p) }, ids{1000, 1000, 1001}, 0},
		{"unprivileged setreuid to a stranger is EPERM", ids{1000, 1001, 1002}, func(r, e, s *uint32, p bool) syscall.Errno { return setREID(noID, 7, r, e, s, p) }, ids{1000, 1001, 1002}, syscall.EPERM},
		{"setresuid among the three", ids{1000, 1001, 1002}, func(r, e, s *uint32, p bool) syscall.Errno { return setRESID(1002, 1000, noID, r, e, s, p) }, ids{1002, 1000, 1002}, 0},
		{"unprivileged setresuid to a stranger is EPERM", ids{1000, 1001, 1002}, func(r, e, s *uint32, p bool) syscall.Errno { return setRESID(1000, 7, 1000, r, e, s, p) }, ids{1000, 1001, 1002}, syscall.EPERM},
		{"root setresuid anything", ids{0, 0, 0}, func(r, e, s *uint32, p bool) syscall.Errno { return setRESID(5, 6, 7, r, e, s, p) }, ids{5, 6, 7}, 0},
	} {
		got := c.from
		cr := creds{euid: c.from.e}
		err := c.call(&got.r, &got.e, &got.s, cr.privileged())
		if err != c.err || got != c.want {
			t.Errorf("%s: from %v got %v, %v; want %v, %v", c.name, c.from, got, err, c.want, c.err)
		}
	}
}
