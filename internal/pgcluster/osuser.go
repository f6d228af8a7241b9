package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// osUser is the OS account the server binaries run as: this process's own, or, when this
// process is root (initdb and postgres refuse to run as root), the `postgres` user.
type osUser struct {
	uid, gid int
	groups   []int
	cred     *syscall.Credential // nil when the binaries run as this process's user
}

// lookupOSUser picks the account the server binaries run as.
func lookupOSUser() (*osUser, error) {
	if os.Geteuid() != 0 {
		return &osUser{uid: os.Geteuid(), gid: os.Getegid()}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("look up the postgres OS user (PostgreSQL refuses to run as root): %w", err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return nil, fmt.Errorf("parse uid of postgres user: %w", err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return nil, fmt.Errorf("parse gid of postgres user: %w", err)
	}
	ou := &osUser{uid: uid, gid: gid, groups: []int{gid}}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{uint32(gid)}}
	if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			if g, err := strconv.Atoi(s); err == nil && g != gid {
				ou.groups = append(ou.groups, g)
				cred.Groups = append(cred.Groups, uint32(g))
			}
		}
	}
	ou.cred = cred
	return ou, nil
}

// switched reports whether the binaries run as another user than this process.
func (u *osUser) switched() bool { return u.cred != nil }

// command prepares a server binary to run as u, from the root directory (so that a
// working directory postgres cannot enter does not matter).
func (u *osUser) command(ctx context.Context, path string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = "/"
	cmd.WaitDelay = 5 * time.Second
	if u.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: u.cred}
	}
	return cmd
}

// prepareDir creates the cluster directory (mode 0700) and its parents, makes sure u can
// reach it, and gives u the whole tree.
func (u *osUser) prepareDir(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("create parent of postgres data directory: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create postgres data directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("stat postgres data directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("prepare postgres data directory: %s is not a directory", dir)
	}
	// postgres refuses a data directory that others (or the group, for writing) may use.
	if fi.Mode().Perm()&0o027 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("restrict postgres data directory: %w", err)
		}
	}
	if !u.switched() {
		return nil
	}
	if err := u.checkReachable(dir); err != nil {
		return err
	}
	return u.chownTree(dir)
}

// checkReachable returns an error naming every ancestor of dir that u may not enter.
func (u *osUser) checkReachable(dir string) error {
	var blocked []string
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("stat %s: %w", p, err)
		}
		if !u.canSearch(fi) {
			blocked = append([]string{fmt.Sprintf("%s (mode %#o)", p, fi.Mode().Perm())}, blocked...)
		}
		if p == filepath.Dir(p) {
			break
		}
	}
	if len(blocked) == 0 {
		return nil
	}
	return fmt.Errorf("postgres data directory %s is not reachable by the postgres OS user, "+
		"which may not enter %s: make them searchable (chmod o+x) or choose a data directory elsewhere",
		dir, strings.Join(blocked, ", "))
}

// canSearch reports whether u has search (x) permission on the directory fi.
func (u *osUser) canSearch(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	perm := fi.Mode().Perm()
	if int(st.Uid) == u.uid {
		return perm&0o100 != 0
	}
	for _, g := range u.groups {
		if int(st.Gid) == g {
			return perm&0o010 != 0
		}
	}
	return perm&0o001 != 0
}

// chownTree gives u every file under dir that it does not own yet.
func (u *osUser) chownTree(dir string) error {
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) == u.uid && int(st.Gid) == u.gid {
			return nil
		}
		return os.Lchown(p, u.uid, u.gid)
	})
	if err != nil {
		return fmt.Errorf("give postgres data directory to the postgres user: %w", err)
	}
	return nil
}

// writeFile writes a private (0600) file owned by u.
func (u *osUser) writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	if u.switched() {
		if err := os.Chown(tmp, u.uid, u.gid); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	return os.Rename(tmp, path)
}
