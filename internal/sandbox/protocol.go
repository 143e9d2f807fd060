package sandbox

// The shell protocol.
//
// The runner sends "<seq> <mode>\n" requests to the supervisor (the init, or
// the fallback's goroutine), which hands each to the shell on its fd 9. The
// shell's loop reads one, sources the command file ("…/cmd") and prints an
// end marker with the status. Markers go to fd 8, a duplicate of the output
// pipe that fds 1 and 2 also point to, so a command's output always precedes
// its marker and `exec >/dev/null` in a command cannot break the protocol:
//
//	\x1eHANGAR:<nonce>:E<seq>:<code>\x1e command <seq> finished with <code>
//	\x1eHANGAR:<nonce>:X<seq>:<code>\x1e the shell exited with <code> (128+n on
//	                                     signal n) while it had request <seq>
//	                                     (0: none); the supervisor writes it
//
// A command that runs `exit 3` ends the shell: its EXIT trap saves the shell's
// state (variables, exported env, cwd, options, and functions/aliases under
// bash) to "…/state", the supervisor reports X<seq>:3 and starts a new shell
// that restores that state before reading the next request.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
)

const (
	modeRun     = 'r'
	modeCapture = 'c'

	markerSep    = 0x1e
	markerMaxLen = 128

	// Fds the shell reserves; single digits because dash does not parse more.
	shellCmdFD    = 9
	shellMarkerFD = 8
)

func newNonce() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// exitMarker is what the supervisor writes when the shell process ends.
func exitMarker(nonce, seq string, code int) []byte {
	return []byte("\x1eHANGAR:" + nonce + ":X" + seq + ":" + strconv.Itoa(code) + "\x1e")
}

// outputReader splits the shell's output into data (to Output) and markers.
// Memory is bounded: one read buffer plus at most one partial marker.
type outputReader struct {
	out    io.Writer
	log    *slog.Logger
	prefix []byte // "\x1eHANGAR:<nonce>:"
	cand   []byte // a possible marker being matched, starts with markerSep
	werr   bool   // Output failed once; logged, later data dropped

	mu     sync.Mutex
	seq    uint64   // the command being waited for, 0 = none
	result chan int // buffered(1) result for seq

	eof chan struct{} // closed when the pipe hit EOF and everything was flushed
}

func newOutputReader(out io.Writer, nonce string, log *slog.Logger) *outputReader {
	p := []byte("\x1eHANGAR:" + nonce + ":")
	return &outputReader{
		out:    out,
		log:    log,
		prefix: p,
		cand:   make([]byte, 0, markerMaxLen),
		eof:    make(chan struct{}),
	}
}

// expect registers the command seq (0 clears) and returns where its exit code
// will be delivered.
func (r *outputReader) expect(seq uint64) <-chan int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq = seq
	r.result = make(chan int, 1)
	return r.result
}

// run copies the pipe until EOF.
func (r *outputReader) run(src io.Reader) {
	defer close(r.eof)
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			r.feed(buf[:n])
		}
		if err != nil {
			if err != io.EOF {
				r.log.Warn("read sandbox output", "err", err)
			}
			r.flushCand()
			return
		}
	}
}

func (r *outputReader) emit(p []byte) {
	if len(p) == 0 || r.werr {
		return
	}
	if _, err := r.out.Write(p); err != nil {
		r.werr = true
		r.log.Warn("write sandbox output; dropping the rest", "err", err)
	}
}

func (r *outputReader) flushCand() {
	r.emit(r.cand)
	r.cand = r.cand[:0]
}

// feed processes one chunk. Data before a marker is emitted at once, even
// without a trailing newline.
func (r *outputReader) feed(p []byte) {
	for len(p) > 0 {
		if len(r.cand) == 0 {
			i := bytes.IndexByte(p, markerSep)
			if i < 0 {
				r.emit(p)
				return
			}
			r.emit(p[:i])
			r.cand = append(r.cand, markerSep)
			p = p[i+1:]
			continue
		}
		b := p[0]
		n := len(r.cand)
		switch {
		case n < len(r.prefix):
			if b != r.prefix[n] {
				r.flushCand() // not a marker; b is looked at again
				continue
			}
		case b == markerSep:
			r.marker(string(r.cand[len(r.prefix):]))
			r.cand = r.cand[:0]
			p = p[1:]
			continue
		case !isMarkerBody(b) || n+1 >= markerMaxLen:
			r.flushCand()
			continue
		}
		r.cand = append(r.cand, b)
		p = p[1:]
	}
}

func isMarkerBody(b byte) bool {
	return b >= '0' && b <= '9' || b == 'E' || b == 'X' || b == ':' || b == '-'
}

// marker handles one marker body ("E12:0", "X12:137"); anything malformed
// is ignored (it carried our nonce, so it is not user output).
func (r *outputReader) marker(body string) {
	if len(body) < 2 || (body[0] != 'E' && body[0] != 'X') {
		return
	}
	s, c, ok := strings.Cut(body[1:], ":")
	seq, err1 := strconv.ParseUint(s, 10, 64)
	code, err2 := strconv.Atoi(c)
	if !ok || err1 != nil || err2 != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if seq == 0 || seq != r.seq {
		if body[0] == 'X' {
			r.log.Debug("sandbox shell exited between commands; restarted", "code", code)
		}
		return
	}
	select {
	case r.result <- code:
	default:
	}
	r.seq = 0
}

// shellScriptName is the protocol script's file in the control dir.
const shellScriptName = "shell"

// shellQuote quotes s for POSIX shells.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellArgs returns argv for the shell: it sources the protocol script from
// the control dir (a short argv keeps `ps` readable and the nonce out of it).
// restore makes it load the saved state.
func shellArgs(shell, ctl string, restore bool) []string {
	name := shell
	if i := strings.LastIndexByte(shell, '/'); i >= 0 {
		name = shell[i+1:]
	}
	a := []string{name, "-c", ". " + shellQuote(ctl+"/"+shellScriptName), name}
	if restore {
		a = append(a, "restore")
	}
	return a
}

// shellScript is the program the persistent shell runs. ctl is the control
// dir as the shell sees it. It works in bash (state via declare/compgen, incl.
// functions) and in POSIX shells (dash, busybox ash: state via set/export -p).
// Everything the loop itself runs is inside `{ …; } 2>/dev/null` so a user's
// `set -x` traces only their own commands.
func shellScript(ctl, nonce string) string {
	r := strings.NewReplacer("@CTL@", shellQuote(ctl), "@NONCE@", nonce)
	return r.Replace(shellScriptTemplate)
}

const shellScriptTemplate = `__hangar_c=@CTL@
__hangar_o= __hangar_p= __hangar_x= __hangar_d=
__hangar_opts() {
	__hangar_o=
	case $- in *e*) __hangar_o=${__hangar_o}e;; esac
	case $- in *u*) __hangar_o=${__hangar_o}u;; esac
	case $- in *x*) __hangar_o=${__hangar_o}x;; esac
	case $- in *v*) __hangar_o=${__hangar_o}v;; esac
	case $- in *f*) __hangar_o=${__hangar_o}f;; esac
	case $- in *a*) __hangar_o=${__hangar_o}a;; esac
	case $- in *C*) __hangar_o=${__hangar_o}C;; esac
	if [ -n "$__hangar_x" ]; then __hangar_o=${__hangar_o}x; fi
	__hangar_d=$PWD
}
if [ -n "${BASH_VERSION-}" ]; then
__hangar_save() {
	__hangar_opts
	__hangar_p=
	if [[ -o pipefail ]]; then __hangar_p=1; fi
	{
		builtin declare -p IFS
		local IFS=$' \t\n' __hangar_n __hangar_l
		for __hangar_n in $(builtin compgen -v); do
			case $__hangar_n in
			IFS|BASH|BASHOPTS|BASHPID|BASH_*|COLUMNS|COMP_*|DIRSTACK|EPOCHREALTIME|EPOCHSECONDS|EUID|FUNCNAME|GROUPS|HISTCMD|LINENO|LINES|OPTERR|OPTIND|PIPESTATUS|PPID|PWD|RANDOM|SECONDS|SHELLOPTS|SHLVL|SRANDOM|UID|_) ;;
			*) builtin declare -p "$__hangar_n" ;;
			esac
		done
		builtin declare -f
		for __hangar_l in $(builtin declare -F | while read -r _ a n; do [ "$a" = -fx ] && builtin echo "$n"; done); do
			builtin echo "builtin export -f $__hangar_l"
		done
		builtin shopt -p
		builtin alias -p
	} >"$__hangar_c/state" 2>/dev/null
}
else
__hangar_save() {
	__hangar_opts
	{ set; export -p; readonly -p; } >"$__hangar_c/state" 2>/dev/null
}
fi
if [ "${1-}" = restore ]; then
	. "$__hangar_c/state" 2>/dev/null
	__hangar_l=${OLDPWD-}
	cd "$__hangar_d" 2>/dev/null
	OLDPWD=$__hangar_l
	unset __hangar_l
fi
set --
__hangar_loop() {
	{
		if [ -n "$__hangar_p" ]; then set -o pipefail; fi
		__hangar_x=
		case $__hangar_o in *x*) __hangar_x=1;; esac
		if [ -n "$__hangar_o" ]; then set "-$__hangar_o"; set +x; fi
		__hangar_o=
	} 2>/dev/null
	while :; do
		{
			IFS=' ' read -r __hangar_s __hangar_m <&9 || { trap - EXIT; exit 0; }
			trap __hangar_save EXIT
		} 2>/dev/null
		if [ "$__hangar_m" = c ]; then
			{ if [ -n "$__hangar_x" ]; then set -x; fi; } 2>/dev/null
			. "$__hangar_c/cmd" 9<&- 8>&- >"$__hangar_c/out" 2>/dev/null
		else
			{ if [ -n "$__hangar_x" ]; then set -x; fi; } 2>/dev/null
			. "$__hangar_c/cmd" 9<&- 8>&-
		fi
		{
			__hangar_t=$?
			__hangar_x=
			case $- in *x*) __hangar_x=1; set +x;; esac
			command printf '\036HANGAR:@NONCE@:E%s:%s\036' "$__hangar_s" "$__hangar_t" >&8
		} 2>/dev/null
	done
}
__hangar_loop
`
