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
The manager's rules narrowed to the resources whose names start with one of .prefixes, for the
grants a RoleBinding in a watched namespace cannot give. Call with (dict "root" $ "prefixes" (list ...)).
*/}}
{{- define "falcon-token-operator.managerRulesFor" -}}
{{- $prefixes := .prefixes }}
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
{{- if $resources }}
{{- $rules = append $rules (dict "apiGroups" .apiGroups "resources" (uniq $resources) "verbs" .verbs) }}
{{- end }}
{{- end }}
{{- toYaml $rules }}
{{- end }}

{{/* Fails rendering on values that would install a manager that cannot work. */}}
{{- define "falcon-token-operator.validate" -}}
{{- if and (eq .Values.rbac.scope "namespace") (empty .Values.watchNamespaces) }}
{{- fail "rbac.scope=namespace needs watchNamespaces: the namespaces the manager gets RoleBindings in and watches" }}
{{- end }}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail "replicaCount > 1 needs leaderElection.enabled=true, or the replicas reconcile the same tokens at once" }}
{{- end }}
{{- end }}
