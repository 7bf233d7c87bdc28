package v1alpha1

// The accessors below let the operator's shared reconcile skeleton and token phases work on
// every kind through small interfaces, in the way cluster-api's condition getters do.

// GetCommonStatus returns the status fields every kind shares.
func (f *FalconInstallationToken) GetCommonStatus() *CommonStatus { return &f.Status.CommonStatus }

// GetCommonStatus returns the status fields every kind shares.
func (c *ClusterFalconInstallationToken) GetCommonStatus() *CommonStatus {
	return &c.Status.CommonStatus
}

// GetCommonStatus returns the status fields every kind shares.
func (s *FalconTokenSettings) GetCommonStatus() *CommonStatus { return &s.Status.CommonStatus }

// GetTokenParameters returns the token the resource wants.
func (f *FalconInstallationToken) GetTokenParameters() *TokenParameters {
	return &f.Spec.TokenParameters
}

// GetTokenParameters returns the token the resource wants.
func (c *ClusterFalconInstallationToken) GetTokenParameters() *TokenParameters {
	return &c.Spec.TokenParameters
}

// GetTokenStatus returns what was observed of the resource's token.
func (f *FalconInstallationToken) GetTokenStatus() *InstallationTokenStatus {
	return &f.Status.InstallationTokenStatus
}

// GetTokenStatus returns what was observed of the resource's token.
func (c *ClusterFalconInstallationToken) GetTokenStatus() *InstallationTokenStatus {
	return &c.Status.InstallationTokenStatus
}

// GetFalconAPI returns how the resource reaches Falcon.
func (f *FalconInstallationToken) GetFalconAPI() FalconAPI { return f.Spec.FalconAPI }

// GetFalconAPI returns how the resource reaches Falcon.
func (c *ClusterFalconInstallationToken) GetFalconAPI() FalconAPI { return c.Spec.FalconAPI }

// GetFalconAPI returns how the resource reaches Falcon.
func (s *FalconTokenSettings) GetFalconAPI() FalconAPI { return s.Spec.FalconAPI }

// GetSecretTemplate returns how the published Secret is shaped.
func (f *FalconInstallationToken) GetSecretTemplate() *SecretTemplate { return &f.Spec.Secret }

// GetSecretTemplate returns how the published Secret is shaped.
func (c *ClusterFalconInstallationToken) GetSecretTemplate() *SecretTemplate {
	return &c.Spec.Secret.SecretTemplate
}
