package controller

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSecretMatches(t *testing.T) {
	want := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"a": "1"}, Annotations: map[string]string{"b": "2"}},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"TOKEN": []byte("v")},
	}
	for _, tc := range []struct {
		name   string
		change func(*corev1.Secret)
		want   bool
	}{
		{"identical", func(*corev1.Secret) {}, true},
		{"someone else's label is fine", func(s *corev1.Secret) { s.Labels["argocd"] = "x" }, true},
		{"value edited", func(s *corev1.Secret) { s.Data["TOKEN"] = []byte("w") }, false},
		{"key added", func(s *corev1.Secret) { s.Data["EXTRA"] = []byte("w") }, false},
		{"our label removed", func(s *corev1.Secret) { delete(s.Labels, "a") }, false},
		{"our annotation changed", func(s *corev1.Secret) { s.Annotations["b"] = "3" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			existing := want.DeepCopy()
			tc.change(existing)
			if got := secretMatches(existing, want); got != tc.want {
				t.Errorf("secretMatches = %v, want %v", got, tc.want)
			}
		})
	}
}
