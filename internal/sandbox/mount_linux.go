package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ctlInside is where the control dir appears inside a namespaced sandbox: our
// own /dev tmpfs is the one place we can add a directory without touching the
// host's filesystems (the root may be read-only).
const ctlInside = "/dev/.hangar"

// hideMode lets a non-root build traverse a hidden dir to reach binds under it
// without being able to list it.
const hideMode = 0o711

// errNamespaceDenied marks failures that mean "this host does not let us use
// mount namespaces" (fall back), as opposed to a bad spec.
var errNamespaceDenied = errors.New("namespaces not permitted here")

func denied(what string, err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.ENOSYS) {
		return fmt.Errorf("%s: %w (%w)", what, err, errNamespaceDenied)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func mount(src, target, fstype string, flags uintptr, data string) error {
	if err := unix.Mount(src, target, fstype, flags, data); err != nil {
		return fmt.Errorf("mount %s on %s: %w", fstype+src, target, err)
	}
	return nil
}

// fdPath names an O_PATH fd so mount(2) can bind what it refers to even after
// the path itself got hidden.
func fdPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

func openPath(p string) (int, error) {
	fd, err := unix.Open(p, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", p, err)
	}
	return fd, nil
}

// under reports whether p is dir or inside it (both clean, absolute).
func under(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// setupMounts builds the sandbox's view of the filesystem. It runs in the init,
// in the new mount namespace, before the shell starts.
func setupMounts(s *initSpec) (err error) {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		// Nothing below may propagate to the host.
		return denied("make mounts private", err)
	}
	old := unix.Umask(0)
	defer unix.Umask(old)

	// Overlays first, while their layers are visible: Hide may cover them.
	for _, o := range s.Overlays {
		opts, err := overlayOptions(o)
		if err != nil {
			return err
		}
		if err := mount("overlay", o.Merged, "overlay", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
			return fmt.Errorf("overlay on %s: %w", o.Merged, err)
		}
	}

	// Open every source first: Hide may cover it (the build's dirs usually
	// live under the runner's hidden state dir).
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	open := func(p string) (int, error) {
		fd, err := openPath(p)
		if err == nil {
			fds = append(fds, fd)
		}
		return fd, err
	}
	ctlFD, err := open(s.CtlDir)
	if err != nil {
		return err
	}
	tmpFD := -1
	if s.TmpDir != "" {
		if tmpFD, err = open(s.TmpDir); err != nil {
			return err
		}
	}
	bindFDs := make([]int, len(s.Binds))
	bindDir := make([]bool, len(s.Binds))
	for i, b := range s.Binds {
		if bindFDs[i], err = open(b.Source); err != nil {
			return fmt.Errorf("bind source: %w", err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(bindFDs[i], &st); err != nil {
			return fmt.Errorf("stat bind source %s: %w", b.Source, err)
		}
		bindDir[i] = st.Mode&unix.S_IFMT == unix.S_IFDIR
	}
	var hides []string
	for _, h := range s.Hide {
		r, err := filepath.EvalSymlinks(h)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("resolve hidden path %s: %w", h, err)
		}
		hides = append(hides, r)
	}
	// Mount points for binds may be created only in what we mounted fresh:
	// the hiding tmpfses and /tmp.
	freshBy := func(p string) string {
		for _, h := range hides {
			if under(p, h) {
				return h
			}
		}
		if under(p, "/tmp") {
			return "/tmp"
		}
		return ""
	}
	// Bind targets that do not exist on the host (CodeBuild's
	// /codebuild/output/…) are made in a new root: a tmpfs holding binds of
	// the host's top-level entries, plus the missing top-level dirs. Only a
	// missing top-level component can be provided that way without writing
	// to the host.
	newRoot := false
	newTop := map[string]bool{}
	for _, b := range s.Binds {
		t := filepath.Clean(b.Target)
		if !filepath.IsAbs(t) {
			return fmt.Errorf("bind target %q is not absolute", b.Target)
		}
		if freshBy(t) != "" {
			continue
		}
		switch a := existingAncestor(t); a {
		case t:
		case "/":
			newRoot = true
			newTop[strings.SplitN(t[1:], "/", 2)[0]] = true
		default:
			return fmt.Errorf("bind target %s: %s has no %s (only a missing top-level directory can be made without touching the host)", t, a, strings.TrimPrefix(t, a))
		}
	}
	if newRoot {
		inner := freshBy
		freshBy = func(p string) string {
			if p != "/" && newTop[strings.SplitN(p[1:], "/", 2)[0]] {
				return "/"
			}
			return inner(p)
		}
	}
	// The source dir needs its own mount when it must stay writable under a
	// read-only root, or when a fresh mount (Hide, /tmp) covers it, unless a
	// Bind provides it.
	dirFD := -1
	dirCovered := false
	for _, b := range s.Binds {
		if under(filepath.Clean(s.Dir), filepath.Clean(b.Target)) {
			dirCovered = true
		}
	}
	if !dirCovered {
		rd, err := filepath.EvalSymlinks(s.Dir)
		if err != nil {
			return fmt.Errorf("resolve dir: %w", err)
		}
		if s.ReadOnlyRoot || freshBy(rd) != "" {
			if dirFD, err = open(rd); err != nil {
				return err
			}
			s.Dir = rd
		}
	}
	pivoted := false
	if newRoot {
		if pivoted, err = switchRoot(); err != nil {
			return err
		}
		s.chrooted = !pivoted
	}

	// A fresh /proc for the new pid namespace.
	if err := mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return denied("mount /proc", err)
	}
	pts, err := setupDev(fdPath(ctlFD))
	if err != nil {
		return err
	}

	// A private /tmp.
	if tmpFD >= 0 {
		if err := mount(fdPath(tmpFD), "/tmp", "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return err
		}
	} else if err := mount("tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777"); err != nil {
		return err
	}

	// Hide: an empty tmpfs over directories, /dev/null over files. Writable
	// until the bind targets below are created in it.
	var hideMounts []string
	for _, h := range hides {
		fi, err := os.Stat(h)
		if errors.Is(err, os.ErrNotExist) {
			continue // it was under /tmp, which is fresh
		}
		if err != nil {
			return fmt.Errorf("stat hidden path: %w", err)
		}
		if fi.IsDir() {
			if err := mount("tmpfs", h, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=711,size=64k,nr_inodes=1024"); err != nil {
				return err
			}
			hideMounts = append(hideMounts, h)
		} else if err := mount("/dev/null", h, "", unix.MS_BIND, ""); err != nil {
			return err
		}
	}

	writable := []string{"/proc", "/dev", "/dev/shm", ctlInside, "/tmp"}
	if pts {
		writable = append(writable, "/dev/pts")
	}
	for i, b := range s.Binds {
		t := filepath.Clean(b.Target)
		if f := freshBy(t); f != "" {
			if err := makeMountpoint(t, bindDir[i], f != "/tmp" && f != "/"); err != nil {
				return err
			}
		} else if _, err := os.Stat(t); err != nil {
			return fmt.Errorf("bind target: %w", err)
		}
		if err := mount(fdPath(bindFDs[i]), t, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return err
		}
		if b.ReadOnly {
			if err := setReadOnly(t, true, s.ForceRemountRO); err != nil {
				return err
			}
		} else {
			writable = append(writable, t)
		}
	}

	if dirFD >= 0 {
		if f := freshBy(s.Dir); f != "" {
			if err := makeMountpoint(s.Dir, true, f != "/tmp" && f != "/"); err != nil {
				return err
			}
		}
		if err := mount(fdPath(dirFD), s.Dir, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return err
		}
		writable = append(writable, s.Dir)
	}

	if pivoted {
		// Every source is mounted: the old root can go.
		if err := unix.Unmount(oldRoot, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("detach the old root: %w", err)
		}
		if err := os.Remove(oldRoot); err != nil {
			return fmt.Errorf("remove %s: %w", oldRoot, err)
		}
	}

	for _, h := range hideMounts {
		if shadowed(h, s) {
			// A bind over it or an ancestor (the build's HOME over the
			// runner's ~/.local/state/hangar) hides it already: the path
			// now leads into the bound dir.
			continue
		}
		if err := setReadOnly(h, false, s.ForceRemountRO); err != nil {
			return err
		}
	}

	if !s.Privileged {
		// Root keeps DAC_OVERRIDE: without these, it could write host sysctls
		// and the cgroup files that limit it.
		for _, p := range []string{"/proc/sys", "/proc/sysrq-trigger"} {
			if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
				continue // e.g. a kernel without magic sysrq
			}
			if err := mount(p, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
				return err
			}
			if err := setReadOnly(p, true, s.ForceRemountRO); err != nil {
				return err
			}
		}
		if err := setReadOnly("/sys", true, s.ForceRemountRO); err != nil {
			return err
		}
	}

	if s.ReadOnlyRoot {
		if err := setReadOnly("/", true, s.ForceRemountRO); err != nil {
			return err
		}
		for _, p := range writable {
			if err := clearReadOnly(p, s.ForceRemountRO); err != nil {
				return err
			}
		}
	}
	return nil
}

// existingAncestor returns p if it exists, else its deepest existing ancestor.
func existingAncestor(p string) string {
	for {
		if _, err := os.Stat(p); err == nil || p == "/" {
			return p
		}
		p = filepath.Dir(p)
	}
}

// oldRoot is where the host's root stays during setup after switchRoot.
const oldRoot = "/.hangar-old-root"

// switchRoot makes a tmpfs the root, with the host's top-level entries bound
// (or, for symlinks, copied) into it, so missing top-level dirs can be made
// in it. /proc, /dev and /tmp are left empty: they get fresh mounts. The old
// root stays at oldRoot until every source is bound (binds from fds need
// their mount attached).
func switchRoot() (pivoted bool, err error) {
	// Built on /tmp: it gets its own mount later anyway.
	const stage = "/tmp"
	if err := mount("tmpfs", stage, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=755,size=1m,nr_inodes=4096"); err != nil {
		return false, err
	}
	ents, err := os.ReadDir("/")
	if err != nil {
		return false, fmt.Errorf("read /: %w", err)
	}
	for _, e := range ents {
		src, dst := "/"+e.Name(), stage+"/"+e.Name()
		switch {
		case e.Name() == "proc" || e.Name() == "dev" || e.Name() == "tmp":
			if err := os.Mkdir(dst, 0o755); err != nil {
				return false, fmt.Errorf("new root: %w", err)
			}
		case e.Type()&os.ModeSymlink != 0:
			target, err := os.Readlink(src)
			if err != nil {
				return false, fmt.Errorf("new root: %w", err)
			}
			if err := os.Symlink(target, dst); err != nil {
				return false, fmt.Errorf("new root: %w", err)
			}
		default:
			if err := makeMountpoint(dst, e.IsDir(), false); err != nil {
				return false, fmt.Errorf("new root: %w", err)
			}
			if err := mount(src, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
				return false, err
			}
		}
	}
	if err := os.Mkdir(stage+oldRoot, 0o700); err != nil {
		return false, fmt.Errorf("new root: %w", err)
	}
	if err := unix.PivotRoot(stage, stage+oldRoot); err == nil {
		if err := unix.Chdir("/"); err != nil {
			return false, fmt.Errorf("chdir to the new root: %w", err)
		}
		return true, nil
	} else if !errors.Is(err, unix.EINVAL) {
		return false, denied("pivot_root", err)
	}
	// An initramfs root cannot be pivoted away: move the new root over it
	// and chroot (the old root stays underneath, unreachable).
	if err := os.Remove(stage + oldRoot); err != nil {
		return false, fmt.Errorf("new root: %w", err)
	}
	if err := unix.Chdir(stage); err != nil {
		return false, fmt.Errorf("chdir to the new root: %w", err)
	}
	if err := unix.Mount(stage, "/", "", unix.MS_MOVE, ""); err != nil {
		return false, fmt.Errorf("move the new root: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return false, fmt.Errorf("chroot to the new root: %w", err)
	}
	return false, unix.Chdir("/")
}

// makeMountpoint creates p (dir or empty file) and its parents inside a
// fresh tmpfs; hidden ones can be traversed but not listed.
func makeMountpoint(p string, dir, hidden bool) error {
	mode := os.FileMode(0o755)
	if hidden {
		mode = hideMode
	}
	if err := os.MkdirAll(filepath.Dir(p), mode); err != nil {
		return fmt.Errorf("create mount point: %w", err)
	}
	if dir {
		if err := os.Mkdir(p, mode); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("create mount point: %w", err)
		}
		return nil
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("create mount point: %w", err)
	}
	return f.Close()
}

// setupDev mounts a minimal /dev (like a container's): the usual nodes, a
// private devpts and /dev/shm, and the control dir. The host's /dev would
// expose its disks, and devtmpfs is shared with the host.
func setupDev(ctlSrc string) (pts bool, err error) {
	if err := mount("tmpfs", "/dev", "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=755,size=64k,nr_inodes=4096"); err != nil {
		return false, denied("mount /dev", err)
	}
	nodes := []struct {
		name         string
		major, minor uint32
	}{{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}}
	for _, n := range nodes {
		if err := unix.Mknod("/dev/"+n.name, unix.S_IFCHR|0o666, int(unix.Mkdev(n.major, n.minor))); err != nil {
			return false, denied("mknod /dev/"+n.name, err)
		}
	}
	links := [][2]string{{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"}}
	for _, l := range links {
		if err := os.Symlink(l[0], "/dev/"+l[1]); err != nil {
			return false, fmt.Errorf("create /dev/%s: %w", l[1], err)
		}
	}
	for _, d := range []string{"pts", "shm", ".hangar"} {
		if err := os.Mkdir("/dev/"+d, 0o755); err != nil {
			return false, fmt.Errorf("create /dev/%s: %w", d, err)
		}
	}
	// Best effort: builds rarely need a pty, and some hosts refuse a new devpts.
	pts = unix.Mount("devpts", "/dev/pts", "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") == nil
	if err := mount("tmpfs", "/dev/shm", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777"); err != nil {
		return false, err
	}
	return pts, mount(ctlSrc, ctlInside, "", unix.MS_BIND, "")
}

// setReadOnly makes the mount at p (and below it, if recursive) read-only:
// mount_setattr (5.12+) in one call, else a remount per mount.
func setReadOnly(p string, recursive, forceRemount bool) error {
	if !forceRemount {
		flags := uint(0)
		if recursive {
			flags = unix.AT_RECURSIVE
		}
		err := unix.MountSetattr(unix.AT_FDCWD, p, flags, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY})
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.ENOSYS) {
			return fmt.Errorf("make %s read-only: %w", p, err)
		}
	}
	targets := []string{p}
	if recursive {
		var err error
		if targets, err = mountsUnder(p); err != nil {
			return err
		}
	}
	for _, t := range targets {
		if err := remount(t, true); err != nil {
			return err
		}
	}
	return nil
}

// clearReadOnly makes the single mount at p writable again.
func clearReadOnly(p string, forceRemount bool) error {
	if !forceRemount {
		err := unix.MountSetattr(unix.AT_FDCWD, p, 0, &unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY})
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.ENOSYS) {
			return fmt.Errorf("make %s writable: %w", p, err)
		}
	}
	return remount(p, false)
}

// remount changes the read-only flag of the mount at p, keeping its other
// per-mount flags (dropping nosuid/nodev/noexec would fail or weaken it).
func remount(p string, ro bool) error {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EACCES) {
			return nil // hidden by a later mount: unreachable anyway
		}
		return fmt.Errorf("statfs %s: %w", p, err)
	}
	flags := uintptr(unix.MS_REMOUNT | unix.MS_BIND)
	for _, m := range [][2]int64{
		{unix.ST_NOSUID, unix.MS_NOSUID}, {unix.ST_NODEV, unix.MS_NODEV}, {unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME}, {unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if st.Flags&m[0] != 0 {
			flags |= uintptr(m[1])
		}
	}
	if ro {
		flags |= unix.MS_RDONLY
	}
	if err := unix.Mount("", p, "", flags, ""); err != nil {
		return fmt.Errorf("remount %s (ro=%v): %w", p, ro, err)
	}
	return nil
}

// mountsUnder lists the mount points at or below p, parents first, from our
// own mount namespace's mountinfo.
func mountsUnder(p string) ([]string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	var out []string
	seen := map[string]bool{}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeMount(f[4])
		if under(mp, p) && !seen[mp] {
			seen[mp] = true
			out = append(out, mp)
		}
	}
	return out, nil
}

// overlayOptions renders an overlay's mount options; the option syntax has
// no escape for ',' and ':' in lowerdir, so paths holding them are refused.
func overlayOptions(o Overlay) (string, error) {
	for _, p := range []string{o.Lower, o.Upper, o.Work, o.Merged} {
		if !filepath.IsAbs(p) || strings.ContainsAny(p, ",:\\\x00") {
			return "", fmt.Errorf("overlay path %q must be absolute, without ',', ':' or '\\'", p)
		}
	}
	return "lowerdir=" + o.Lower + ",upperdir=" + o.Upper + ",workdir=" + o.Work, nil
}

// shadowed reports whether one of s's binds, mounted after the hiding
// mounts, covers p or a directory above it.
func shadowed(p string, s *initSpec) bool {
	for _, b := range s.Binds {
		if under(p, filepath.Clean(b.Target)) {
			return true
		}
	}
	return false
}
