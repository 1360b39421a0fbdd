package autoscale

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"github.com/inferscale/inferscale/internal/api"
)

// The one namespace and dimension inferscale scales.
const (
	Namespace = "sagemaker"
	Dimension = "sagemaker:variant:DesiredInstanceCount"
)

// Store kinds. Every kind's name starts with the target's name, so that the
// resources of a target sort together.
const (
	kindTarget    = "scalable-target"
	kindPolicy    = "scaling-policy"
	kindScheduled = "scheduled-action"
	kindActivity  = "scaling-activity"

	// statusRegistered is the store status of every scalable target: Run
	// finds the targets of all accounts by it.
	statusRegistered = "Registered"
)

// Variant is the endpoint and variant a resource ID names.
type Variant struct {
	Endpoint, Variant string
}

// ResourceID is the variant's Application Auto Scaling resource ID,
// endpoint/<endpoint>/variant/<variant>.
func (v Variant) ResourceID() string {
	return "endpoint/" + v.Endpoint + "/variant/" + v.Variant
}

// SageMaker's names: endpoints and variants alike.
var sagemakerName = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`)

// ParseResourceID parses endpoint/<endpoint>/variant/<variant>.
func ParseResourceID(id string) (Variant, bool) {
	parts := strings.Split(id, "/")
	if len(parts) != 4 || parts[0] != "endpoint" || parts[2] != "variant" ||
		!sagemakerName.MatchString(parts[1]) || !sagemakerName.MatchString(parts[3]) {
		return Variant{}, false
	}
	return Variant{Endpoint: parts[1], Variant: parts[3]}, true
}

// unsupported is the ValidationException for what inferscale does not scale.
func unsupported(what string) error {
	return api.Errorf(api.KindInvalid,
		"Unsupported service namespace, resource type or scalable dimension: %s. inferscale supports ServiceNamespace %s "+
			"with ScalableDimension %s and ResourceId endpoint/<endpoint-name>/variant/<variant-name> only.",
		what, Namespace, Dimension)
}

// checkNamespace rejects namespaces other than sagemaker.
func checkNamespace(ns string) error {
	if ns != Namespace {
		return unsupported("service namespace " + ns)
	}
	return nil
}

// checkDimension rejects dimensions other than the variant instance count.
// An empty dimension passes: Describe operations treat it as "any".
func checkDimension(dim string) error {
	if dim != "" && dim != Dimension {
		return unsupported("scalable dimension " + dim)
	}
	return nil
}

// targetRef identifies a scalable target within an account and region.
type targetRef struct {
	account, region string
	resourceID      string
	variant         Variant
}

// resolveTarget validates a namespace, resource ID and dimension triple.
func resolveTarget(req *api.Request, ns, resourceID, dim string) (targetRef, error) {
	if err := checkNamespace(ns); err != nil {
		return targetRef{}, err
	}
	if dim == "" {
		return targetRef{}, api.Errorf(api.KindInvalid, "ScalableDimension must be specified.")
	}
	if err := checkDimension(dim); err != nil {
		return targetRef{}, err
	}
	v, ok := ParseResourceID(resourceID)
	if !ok {
		return targetRef{}, unsupported("resource ID " + resourceID)
	}
	return targetRef{account: req.Account, region: req.Region, resourceID: resourceID, variant: v}, nil
}

// name is the store name of the target: unique per account and region.
func (t targetRef) name() string { return Dimension + "|" + t.resourceID }

// childName is the store name of a policy or scheduled action of the target.
func (t targetRef) childName(name string) string { return t.name() + "|" + name }

// describe names the target in error messages, as AWS does.
func (t targetRef) describe() string {
	return fmt.Sprintf("service namespace: %s, resource ID: %s, scalable dimension: %s", Namespace, t.resourceID, Dimension)
}

func (t targetRef) notFound() error {
	return api.Errorf(api.KindNotFound, "No scalable target registered for %s", t.describe())
}

// targetARN is a scalable target's ARN: a 36-hex-digit identifier.
func targetARN(account, region, id string) string {
	return fmt.Sprintf("arn:aws:application-autoscaling:%s:%s:scalable-target/%s", region, account, id)
}

// policyARN is a scaling policy's ARN.
func policyARN(t targetRef, id, name string) string {
	return fmt.Sprintf("arn:aws:autoscaling:%s:%s:scalingPolicy:%s:resource/%s/%s:policyName/%s",
		t.region, t.account, id, Namespace, t.resourceID, name)
}

// scheduledActionARN is a scheduled action's ARN; id is the target's
// scheduled-action identifier, shared by all its actions as in AWS.
func scheduledActionARN(t targetRef, id, name string) string {
	return fmt.Sprintf("arn:aws:autoscaling:%s:%s:scheduledAction:%s:resource/%s/%s:scheduledActionName/%s",
		t.region, t.account, id, Namespace, t.resourceID, name)
}

// activityARN is the store's key for an activity; activities have no ARN in
// the API.
func activityARN(account, region, id string) string {
	return fmt.Sprintf("arn:aws:application-autoscaling:%s:%s:scaling-activity/%s", region, account, id)
}

// serviceLinkedRole is the role AWS reports for SageMaker targets.
func serviceLinkedRole(account string) string {
	return "arn:aws:iam::" + account + ":role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
}

// isPolicyARN reports whether arn is an Application Auto Scaling policy ARN
// (EC2 Auto Scaling's have autoScalingGroupName instead of resource).
func isPolicyARN(arn string) bool {
	parts := strings.SplitN(arn, ":", 7)
	return len(parts) == 7 && parts[0] == "arn" && strings.HasPrefix(parts[1], "aws") &&
		parts[2] == "autoscaling" && parts[5] == "scalingPolicy" &&
		strings.Contains(parts[6], ":resource/") && strings.Contains(parts[6], ":policyName/")
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// newHexID returns 36 random hex digits, the form of scalable target IDs.
func newHexID() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
