package testutil

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

// Both suites register the simulator with the manager as this cloud, and store an API client's
// credentials under this Secret name unless a test needs several.
const (
	SimCloud        = "sim"
	CredentialsName = "falcon-api"
)

// Object returns a function for Eventually that reads obj again and returns it:
//
//	Eventually(testutil.Object(ctx, c, fit)).Should(testutil.BeReady())
func Object[T client.Object](ctx context.Context, c client.Reader, obj T) func() (T, error) {
	return func() (T, error) {
		err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		return obj, err
	}
}

// Gone returns a function for Eventually that reports whether obj no longer exists (its
// finalizers ran, the garbage collector took it, its namespace was deleted):
//
//	Eventually(testutil.Gone(ctx, c, secret)).Should(BeTrue())
func Gone(ctx context.Context, c client.Reader, obj client.Object) func() (bool, error) {
	return func() (bool, error) {
		err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj.DeepCopyObject().(client.Object))
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	}
}

// NewToken is a FalconInstallationToken on the simulator's cloud with the credentials Secret
// CredentialsName; change adjusts it.
func NewToken(namespace, name string, change ...func(*falconv1alpha1.FalconInstallationToken)) *falconv1alpha1.FalconInstallationToken {
	fit := &falconv1alpha1.FalconInstallationToken{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	fit.Spec.FalconAPI.Cloud = SimCloud
	fit.Spec.FalconAPI.CredentialsSecretRef.Name = CredentialsName
	for _, c := range change {
		c(fit)
	}
	return fit
}

// CredentialsSecret is a credentials Secret with the keys the operator reads first.
func CredentialsSecret(namespace, name, clientID, clientSecret string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		StringData: map[string]string{"client_id": clientID, "client_secret": clientSecret},
	}
}

// NewAPIClient registers a fresh API client in the simulator, and with it a fresh customer
// account (CID) whose tokens and calls are the caller's alone, and stores its credentials in
// the Secret namespace/secretName. No scopes means all of them.
func NewAPIClient(
	ctx context.Context, c client.Client, sim *falcontest.Simulator, namespace, secretName string, scopes ...string,
) (falcontest.APIClient, error) {
	api := sim.AddClient(falcontest.APIClient{Scopes: scopes})
	return api, c.Create(ctx, CredentialsSecret(namespace, secretName, api.ClientID, api.ClientSecret))
}
