package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/sgseq/sgseq/monitor"
)

// k8sDir holds the Kubernetes example manifests.
const k8sDir = "../../examples/kubernetes"

// k8sObject is one decoded manifest document.
type k8sObject struct {
	where string // file#document
	obj   any
}

// k8sDecode decodes every document of every manifest under k8sDir strictly
// into its Kubernetes API type: an unknown or duplicate field, or a kind
// the test does not know, fails.
func k8sDecode(t *testing.T) []k8sObject {
	t.Helper()
	var files []string
	err := filepath.WalkDir(k8sDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no manifests under %s", k8sDir)
	}
	var out []k8sObject
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
			if strings.TrimSpace(regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(doc, "")) == "" {
				continue
			}
			where := fmt.Sprintf("%s#%d", f, i)
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			var obj any
			switch tm.APIVersion + "/" + tm.Kind {
			case "apps/v1/Deployment":
				obj = &appsv1.Deployment{}
			case "batch/v1/CronJob":
				obj = &batchv1.CronJob{}
			case "v1/Service":
				obj = &corev1.Service{}
			case "v1/ConfigMap":
				obj = &corev1.ConfigMap{}
			case "v1/PersistentVolumeClaim":
				obj = &corev1.PersistentVolumeClaim{}
			default:
				t.Fatalf("%s: kind %s/%s: add it to this test", where, tm.APIVersion, tm.Kind)
			}
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			out = append(out, k8sObject{where: where, obj: obj})
		}
	}
	return out
}

// sgseqCommandError returns why args (a container's command line after
// the binary) do not name a runnable sgseq subcommand with flags that it
// has and arguments it accepts, or nil.
func sgseqCommandError(args []string) error {
	root := newRootCmd()
	cmd, rest, err := root.Find(args)
	if err != nil {
		return err
	}
	if cmd == root || !cmd.Runnable() || cmd.HasSubCommands() {
		return fmt.Errorf("%q is not an sgseq subcommand", args)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		return fmt.Errorf("%s: %w", cmd.CommandPath(), err)
	}
	if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
		return fmt.Errorf("%s: %w", cmd.CommandPath(), err)
	}
	return nil
}

// dockerfileUser returns the numeric USER of the top-level Dockerfile.
func dockerfileUser(t *testing.T) (uid, gid int64) {
	t.Helper()
	f, err := os.Open("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "USER "); ok {
			us, gs, _ := strings.Cut(strings.TrimSpace(u), ":")
			uid, err1 := strconv.ParseInt(us, 10, 64)
			gid, err2 := strconv.ParseInt(gs, 10, 64)
			if err1 != nil || err2 != nil {
				t.Fatalf("Dockerfile USER %q is not numeric UID:GID", u)
			}
			return uid, gid
		}
	}
	t.Fatal("Dockerfile has no USER")
	return 0, 0
}

// TestKubernetesManifests decodes every manifest under examples/kubernetes
// strictly into the Kubernetes API types and checks what the deployment
// relies on: each container runs a real sgseq subcommand with flags that
// exist; the Deployment is one replica with strategy Recreate, probes
// /healthz and /readyz on the port of the config's http.addr, takes its
// secrets from a Secret, runs as the image's non-root user, and mounts
// the ConfigMap (a valid sgseq config) and the PersistentVolumeClaim that
// are defined beside it.
func TestKubernetesManifests(t *testing.T) {
	objs := k8sDecode(t)
	uid, gid := dockerfileUser(t)
	configMaps := map[string]*corev1.ConfigMap{}
	claims := map[string]bool{}
	var pods []struct {
		where string
		spec  corev1.PodSpec
	}
	var deployments, cronJobs, services int
	for _, o := range objs {
		switch v := o.obj.(type) {
		case *corev1.ConfigMap:
			configMaps[v.Name] = v
		case *corev1.PersistentVolumeClaim:
			claims[v.Name] = true
		case *corev1.Service:
			services++
			if len(v.Spec.Ports) == 0 || v.Spec.Ports[0].Port != 9464 {
				t.Errorf("%s: Service does not expose 9464", o.where)
			}
		case *appsv1.Deployment:
			deployments++
			if v.Spec.Replicas == nil || *v.Spec.Replicas != 1 {
				t.Errorf("%s: replicas must be 1 (one writer per store)", o.where)
			}
			if v.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
				t.Errorf("%s: strategy %q, want Recreate", o.where, v.Spec.Strategy.Type)
			}
			c := v.Spec.Template.Spec.Containers[0]
			if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
				t.Errorf("%s: liveness probe is not GET /healthz", o.where)
			}
			if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
				t.Errorf("%s: readiness probe is not GET /readyz", o.where)
			}
			if len(c.Ports) == 0 || c.Ports[0].ContainerPort != 9464 {
				t.Errorf("%s: container port is not 9464", o.where)
			}
			pods = append(pods, struct {
				where string
				spec  corev1.PodSpec
			}{o.where, v.Spec.Template.Spec})
		case *batchv1.CronJob:
			cronJobs++
			if v.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
				t.Errorf("%s: concurrencyPolicy %q, want Forbid", o.where, v.Spec.ConcurrencyPolicy)
			}
			pods = append(pods, struct {
				where string
				spec  corev1.PodSpec
			}{o.where, v.Spec.JobTemplate.Spec.Template.Spec})
		}
	}
	if deployments != 1 || cronJobs != 1 || services != 1 || len(configMaps) != 1 || len(claims) != 1 {
		t.Errorf("want one Deployment, CronJob, Service, ConfigMap and PersistentVolumeClaim; got %d, %d, %d, %d, %d",
			deployments, cronJobs, services, len(configMaps), len(claims))
	}

	// The ConfigMap's sgseq.yaml is a valid config once the Secret's
	// variables are set, and listens on every interface at 9464.
	for name, cm := range configMaps {
		data, ok := cm.Data["sgseq.yaml"]
		if !ok {
			t.Fatalf("ConfigMap %s has no sgseq.yaml", name)
		}
		cfg, err := monitor.Parse("configmap/"+name+"/sgseq.yaml", []byte(data), monitor.Env(func(k string) (string, bool) {
			if k == monitor.EnvAPIKey {
				return "SG.k8s-test", true
			}
			return "", false
		}))
		if err != nil {
			t.Errorf("ConfigMap %s: %v", name, err)
		}
		if cfg.HTTP.Addr != ":9464" {
			t.Errorf("ConfigMap %s: http.addr %q, want \":9464\"", name, cfg.HTTP.Addr)
		}
		if len(cfg.Warnings()) > 0 {
			t.Errorf("ConfigMap %s: %v", name, cfg.Warnings())
		}
	}

	for _, p := range pods {
		sc := p.spec.SecurityContext
		if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != uid ||
			sc.RunAsGroup == nil || *sc.RunAsGroup != gid {
			t.Errorf("%s: pod securityContext must be runAsNonRoot with the image's user %d:%d", p.where, uid, gid)
		}
		volumes := map[string]corev1.Volume{}
		for _, v := range p.spec.Volumes {
			volumes[v.Name] = v
			if v.ConfigMap != nil && configMaps[v.ConfigMap.Name] == nil {
				t.Errorf("%s: volume %s: no ConfigMap %q beside it", p.where, v.Name, v.ConfigMap.Name)
			}
			if v.PersistentVolumeClaim != nil && !claims[v.PersistentVolumeClaim.ClaimName] {
				t.Errorf("%s: volume %s: no PersistentVolumeClaim %q beside it", p.where, v.Name, v.PersistentVolumeClaim.ClaimName)
			}
		}
		for _, c := range slices.Concat(p.spec.InitContainers, p.spec.Containers) {
			where := p.where + " container " + c.Name
			if !strings.Contains(c.Image, "sgseq") {
				t.Errorf("%s: image %q is not sgseq's", where, c.Image)
			}
			// The image's ENTRYPOINT is /sgseq: args are the command line.
			args := c.Args
			if len(c.Command) > 0 {
				if c.Command[0] != "/sgseq" {
					t.Errorf("%s: command %q does not run /sgseq", where, c.Command)
				}
				args = append(c.Command[1:], c.Args...)
			}
			if err := sgseqCommandError(args); err != nil {
				t.Errorf("%s: %v", where, err)
			}

			csc := c.SecurityContext
			if csc == nil || csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation ||
				csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
				t.Errorf("%s: securityContext must forbid privilege escalation and keep the root filesystem read-only", where)
			}
			// Secrets only from a Secret, never as a literal value.
			fromSecret := false
			for _, e := range c.Env {
				if e.Name == monitor.EnvAPIKey || e.Name == monitor.EnvSlackHook || e.Name == monitor.EnvSlackToken {
					if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
						t.Errorf("%s: $%s must come from a secretKeyRef", where, e.Name)
					}
					fromSecret = fromSecret || e.Name == monitor.EnvAPIKey
				}
			}
			for _, e := range c.EnvFrom {
				fromSecret = fromSecret || e.SecretRef != nil
			}
			if !fromSecret {
				t.Errorf("%s: $%s comes from no Secret", where, monitor.EnvAPIKey)
			}
			// The --config file is in a mounted ConfigMap; the store on
			// the claim; /tmp writable.
			mounts := map[string]corev1.Volume{}
			for _, m := range c.VolumeMounts {
				mounts[m.MountPath] = volumes[m.Name]
			}
			if i := slices.Index(args, "--config"); i < 0 || i+1 >= len(args) {
				t.Errorf("%s: no --config", where)
			} else if v, ok := mounts[filepath.Dir(args[i+1])]; !ok || v.ConfigMap == nil {
				t.Errorf("%s: --config %s is not in a mounted ConfigMap", where, args[i+1])
			}
			if v, ok := mounts["/var/lib/sgseq"]; !ok || v.PersistentVolumeClaim == nil {
				t.Errorf("%s: /var/lib/sgseq (the store) is not on the PersistentVolumeClaim", where)
			}
			if _, ok := mounts["/tmp"]; !ok {
				t.Errorf("%s: no writable /tmp (the root filesystem is read-only)", where)
			}
		}
	}
}

// TestSgseqCommandError: the command check rejects what a typo in a
// manifest would produce, and accepts the real command lines.
func TestSgseqCommandError(t *testing.T) {
	for _, tt := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"monitr", "--config", "x"}, false},
		{[]string{"monitor", "--confg", "x"}, false},
		{[]string{"check", "-o"}, false},
		{[]string{"history"}, false}, // wants an ACCOUNT
		{[]string{"pools"}, false},   // a group, not a command
		{nil, false},
		{[]string{"monitor", "--config", "/etc/sgseq/sgseq.yaml", "--log-format", "json"}, true},
		{[]string{"check", "--config", "/etc/sgseq/sgseq.yaml", "-o", "json", "--lock-wait", "10m"}, true},
	} {
		err := sgseqCommandError(tt.args)
		if (err == nil) != tt.ok {
			t.Errorf("sgseqCommandError(%q) = %v, want ok=%v", tt.args, err, tt.ok)
		}
	}
}

// TestSystemdExecStart: every ExecStart of examples/systemd runs
// /usr/local/bin/sgseq with a real subcommand and flags that exist.
func TestSystemdExecStart(t *testing.T) {
	units, err := filepath.Glob("../../examples/systemd/*.service")
	if err != nil || len(units) < 2 {
		t.Fatalf("units %v: %v", units, err)
	}
	for _, u := range units {
		data, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, line := range strings.Split(string(data), "\n") {
			cmdline, ok := strings.CutPrefix(line, "ExecStart=")
			if !ok {
				continue
			}
			n++
			// %d is systemd's credentials directory specifier.
			args := strings.Fields(strings.ReplaceAll(cmdline, "%d", "/run/credentials/sgseq.service"))
			if args[0] != "/usr/local/bin/sgseq" {
				t.Errorf("%s: ExecStart runs %s", u, args[0])
				continue
			}
			if err := sgseqCommandError(args[1:]); err != nil {
				t.Errorf("%s: %v", u, err)
			}
		}
		if n != 1 {
			t.Errorf("%s: %d ExecStart lines, want 1", u, n)
		}
	}
}
