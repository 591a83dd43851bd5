{{/* Names and labels. */}}
{{- define "cc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cc.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The components: name, values key. */}}
{{- define "cc.components" -}}
agent-registry: agentRegistry
queue-service: queueService
media-relay: mediaRelay
signaling-edge: signalingEdge
{{- end -}}

{{- define "cc.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "cc.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: callcenter
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "agent-registry") */}}
{{- define "cc.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cc.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "cc.componentLabels" -}}
{{ include "cc.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "cc.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "cc.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Image of a component: (dict "root" $ "svc" <component values>) */}}
{{- define "cc.image" -}}
{{- $tag := default (default .root.Chart.AppVersion .root.Values.image.tag) .svc.image.tag -}}
{{- if .root.Values.image.registry -}}
{{- printf "%s/%s:%s" .root.Values.image.registry .svc.image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .svc.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The Secret with db-password, sip-realm and auth-secret. */}}
{{- define "cc.secretName" -}}
{{- default (include "cc.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* PostgreSQL: host, URL (password in PGPASSWORD, never in the URL) and password source. */}}
{{- define "cc.dbHost" -}}
{{- if .Values.postgresql.enabled -}}
{{- printf "%s-postgresql" .Release.Name -}}
{{- else -}}
{{- required "externalDatabase.host is required unless postgresql.enabled" .Values.externalDatabase.host -}}
{{- end -}}
{{- end -}}

{{- define "cc.dbUrl" -}}
{{- if .Values.postgresql.enabled -}}
{{- printf "postgresql://%s@%s:5432/%s" .Values.postgresql.auth.username (include "cc.dbHost" .) .Values.postgresql.auth.database -}}
{{- else -}}
{{- printf "postgresql://%s@%s:%d/%s?sslmode=%s" .Values.externalDatabase.user (include "cc.dbHost" .) (int .Values.externalDatabase.port) .Values.externalDatabase.database .Values.externalDatabase.sslMode -}}
{{- end -}}
{{- end -}}

{{- define "cc.dbPasswordEnv" -}}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
{{- if .Values.postgresql.enabled }}
      name: {{ default (printf "%s-postgresql" .Release.Name) .Values.postgresql.auth.existingSecret }}
      key: password
{{- else if .Values.externalDatabase.existingSecret }}
      name: {{ .Values.externalDatabase.existingSecret }}
      key: {{ .Values.externalDatabase.existingSecretPasswordKey }}
{{- else }}
      name: {{ include "cc.secretName" . }}
      key: db-password
{{- end }}
{{- end -}}

{{- define "cc.natsUrl" -}}
{{- if .Values.nats.enabled -}}
{{- printf "nats://%s-nats:4222" .Release.Name -}}
{{- else -}}
{{- required "externalNats.url is required unless nats.enabled" .Values.externalNats.url -}}
{{- end -}}
{{- end -}}

{{/* gRPC address of a component inside the cluster: (dict "root" $ "component" "x" "port" N) */}}
{{- define "cc.grpcAddress" -}}
{{- printf "%s-%s:%d" (include "cc.fullname" .root) .component (int .port) -}}
{{- end -}}
