package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childEnv makes the test binary act as the writer process of
// TestKillDurability instead of running tests.
const childEnv = "INFERSCALE_STORE_DURABILITY_CHILD"

// TestDurabilityChild is the child process: it writes resources (creates,
// and updates of a counter) and prints "ack N" after each write returned,
// until it is killed or has written 5000.
func TestDurabilityChild(t *testing.T) {
	path := os.Getenv(childEnv)
	if path == "" {
		t.Skip("only runs as the child of TestKillDurability")
	}
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	counter := res("counter", "c", t0, `0`)
	if err := s.Create(ctx, counter); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	for i := 1; i <= 5000; i++ {
		if err := s.Create(ctx, res("model", fmt.Sprintf("m-%05d", i), t0, `{}`), Tag{"i", strconv.Itoa(i)}); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		if _, err := s.Mutate(ctx, counter.Key, func(r *Resource) error {
			r.Doc = []byte(strconv.Itoa(i))
			return nil
		}); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		// Unbuffered: once this line is written, the parent may rely on it.
		fmt.Printf("ack %d\n", i)
	}
	os.Exit(0)
}

// TestKillDurability SIGKILLs a process in the middle of writing and checks
// that every write it acknowledged is in the database afterwards.
func TestKillDurability(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("child")
	}
	path := filepath.Join(t.TempDir(), "durable.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestDurabilityChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := 0
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	killed := false
	deadline := time.After(20 * time.Second)
	kill := func() {
		if !killed {
			killed = true
			_ = cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	// Kill after 150 acknowledged writes (or after 20 s); then drain what
	// it printed before it died: those writes were acknowledged too.
read:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				break read
			}
			n, isAck := strings.CutPrefix(l, "ack ")
			if !isAck {
				if strings.HasPrefix(l, "error") {
					t.Errorf("child: %s", l)
				}
				continue
			}
			acked, _ = strconv.Atoi(n)
			if acked >= 150 {
				kill()
			}
		case <-deadline:
			kill()
			deadline = nil
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child exited by itself (%v) after %d acks", err, acked)
	}
	if acked < 150 {
		t.Fatalf("only %d writes acknowledged before the deadline", acked)
	}
	t.Logf("killed after %d acknowledged writes", acked)

	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	c, err := s.Get(ctx, key("counter", "c"))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := strconv.Atoi(string(c.Doc)); n < acked {
		t.Errorf("counter %d < %d acknowledged updates", n, acked)
	}
	for i := 1; i <= acked; i++ {
		r := res("model", fmt.Sprintf("m-%05d", i), t0, "")
		if _, err := s.Get(ctx, r.Key); err != nil {
			t.Fatalf("acknowledged write %d lost: %v", i, err)
		}
		if tags, err := s.ListTags(ctx, r.ARN); err != nil || len(tags) != 1 || tags[0].Value != strconv.Itoa(i) {
			t.Fatalf("tags of acknowledged write %d: %v, %v", i, tags, err)
		}
	}
}
