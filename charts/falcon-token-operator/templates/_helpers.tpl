{{/* The chart name, or nameOverride. */}}
{{- define "falcon-token-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every object's name: fullnameOverride, else <release>, else <release>-<chart>. */}}
{{- define "falcon-token-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "falcon-token-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "falcon-token-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
control-plane: controller-manager
{{- end }}

{{- define "falcon-token-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "falcon-token-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "falcon-token-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "falcon-token-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The manager's ServiceAccount as an RBAC subject. */}}
{{- define "falcon-token-operator.subject" -}}
- kind: ServiceAccount
  name: {{ include "falcon-token-operator.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
{{- end }}

{{/* The rules `make manifests` generated into config/rbac/role.yaml, copied to files/. */}}
{{- define "falcon-token-operator.managerRules" -}}
{{- (.Files.Get "files/manager-role.yaml" | fromYaml).rules | toYaml }}
{{- end }}

{{/*
The manager's rules narrowed to the resources whose names start with one of .prefixes, and to
.verbs when given, for grants narrower than the manager's ClusterRole. Call with
(dict "root" $ "prefixes" (list ...) ["verbs" (list ...)]).
*/}}
{{- define "falcon-token-operator.managerRulesFor" -}}
{{- $prefixes := .prefixes }}
{{- $onlyVerbs := .verbs }}
{{- $rules := list }}
{{- range (.root.Files.Get "files/manager-role.yaml" | fromYaml).rules }}
{{- $resources := list }}
{{- range $resource := .resources }}
{{- range $prefixes }}
{{- if hasPrefix . $resource }}
{{- $resources = append $resources $resource }}
{{- end }}
{{- end }}
{{- end }}
{{- $verbs := .verbs }}
{{- if $onlyVerbs }}
{{- $verbs = list }}
{{- range .verbs }}
{{- if has . $onlyVerbs }}
{{- $verbs = append $verbs . }}
{{- end }}
{{- end }}
{{- end }}
{{- if and $resources $verbs }}
{{- $rules = append $rules (dict "apiGroups" .apiGroups "resources" (uniq $resources) "verbs" $verbs) }}
{{- end }}
{{- end }}
{{- toYaml $rules }}
{{- end }}

{{/* The namespace the cluster-scoped kinds read their credentials Secret from. */}}
{{- define "falcon-token-operator.clusterResourceNamespace" -}}
{{- .Values.clusterResourceNamespace | default .Release.Namespace }}
{{- end }}

{{/* The metrics Service's name, and its DNS name, which its certificate must carry. */}}
{{- define "falcon-token-operator.metricsServiceName" -}}
{{- include "falcon-token-operator.fullname" . }}-metrics
{{- end }}

{{- define "falcon-token-operator.metricsServiceDNSName" -}}
{{- include "falcon-token-operator.metricsServiceName" . }}.{{ .Release.Namespace }}.svc
{{- end }}

{{/* The Secret holding the metrics endpoint's certificate; empty when there is none. */}}
{{- define "falcon-token-operator.metricsCertSecret" -}}
{{- if .Values.metrics.tls.secretName }}
{{- .Values.metrics.tls.secretName }}
{{- else if .Values.metrics.tls.certManager.enabled }}
{{- include "falcon-token-operator.fullname" . }}-metrics-cert
{{- end }}
{{- end }}

{{/*
Where the manager looks for its metrics certificate: controller-runtime's default CertDir,
$TMPDIR/k8s-metrics-server/serving-certs, files tls.crt and tls.key. It falls back to a
self-signed certificate when they are not there.
*/}}
{{- define "falcon-token-operator.metricsCertDir" -}}
/tmp/k8s-metrics-server/serving-certs
{{- end }}

{{/*
The TCP port of a URL: its explicit port, else the scheme's (443, or 80 for http).
*/}}
{{- define "falcon-token-operator.urlPort" -}}
{{- $u := urlParse . }}
{{- $hostPort := splitList ":" $u.host }}
{{- if gt (len $hostPort) 1 }}
{{- last $hostPort }}
{{- else if eq $u.scheme "http" }}
{{- 80 }}
{{- else }}
{{- 443 }}
{{- end }}
{{- end }}

{{/*
The TCP ports the egress policy opens: networkPolicy.egress.ports, the ports of cloudEndpoints
and of an HTTPS_PROXY in extraEnv, as a JSON list of numbers.
*/}}
{{- define "falcon-token-operator.egressPorts" -}}
{{- $ports := list }}
{{- range .Values.networkPolicy.egress.ports }}
{{- $ports = append $ports (int .) }}
{{- end }}
{{- range $name, $url := .Values.cloudEndpoints }}
{{- $ports = append $ports (include "falcon-token-operator.urlPort" $url | int) }}
{{- end }}
{{- range .Values.extraEnv }}
{{- if and (has (upper .name) (list "HTTPS_PROXY" "HTTP_PROXY")) .value }}
{{- $ports = append $ports (include "falcon-token-operator.urlPort" .value | int) }}
{{- end }}
{{- end }}
{{- uniq $ports | toJson }}
{{- end }}

{{/* Fails rendering on values that would install a manager that cannot work, or one wider than asked. */}}
{{- define "falcon-token-operator.validate" -}}
{{- $scope := (.Values.rbac | default dict).scope }}
{{- if and (eq $scope "namespace") (empty .Values.watchNamespaces) }}
{{- fail "rbac.scope=namespace needs watchNamespaces: the namespaces the manager gets RoleBindings in and watches (rbac.scope is deprecated: setting watchNamespaces is enough)" }}
{{- end }}
{{- if and (eq $scope "cluster") .Values.watchNamespaces }}
{{- fail "rbac.scope=cluster with watchNamespaces would let the manager read Secrets in every namespace: remove rbac.scope (deprecated), watchNamespaces alone grants access in those namespaces only" }}
{{- end }}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail "replicaCount > 1 needs leaderElection.enabled=true, or the replicas reconcile the same tokens at once" }}
{{- end }}
{{- if not .Values.allowInsecureEndpoints }}
{{- range $name, $url := .Values.cloudEndpoints }}
{{- if hasPrefix "http://" $url }}
{{- fail (printf "cloudEndpoints.%s is a plain http:// URL, which the manager refuses: use https://, or set allowInsecureEndpoints=true for a simulator or local proxy" $name) }}
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.metrics }}
{{- if and .enabled .serviceMonitor.enabled (not .serviceMonitor.tlsConfig.insecureSkipVerify) (not (include "falcon-token-operator.metricsCertSecret" $)) }}
{{- fail "metrics.serviceMonitor verifies the metrics endpoint's certificate, but the manager has none: set metrics.tls.certManager.enabled=true (cert-manager issues it) or metrics.tls.secretName (a Secret with tls.crt, tls.key and ca.crt), or, on a test cluster only, metrics.serviceMonitor.tlsConfig.insecureSkipVerify=true" }}
{{- end }}
{{- if and .tls.certManager.enabled .tls.certManager.issuerRef (not .tls.certManager.issuerRef.name) }}
{{- fail "metrics.tls.certManager.issuerRef needs a name (or leave it empty for a self-signed Issuer)" }}
{{- end }}
{{- end }}
{{- end }}
