{{/*
Names. Objects are "<fullname>-<component>"; fullname is the release name,
with "-quarry" appended unless it already contains "quarry".
*/}}
{{- define "quarry.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* (dict "root" $ "component" "gateway") -> "<fullname>-gateway" */}}
{{- define "quarry.componentName" -}}
{{- printf "%s-%s" (include "quarry.fullname" .root) .component -}}
{{- end -}}

{{- define "quarry.selectorLabels" -}}
app.kubernetes.io/name: {{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "quarry.labels" -}}
{{ include "quarry.selectorLabels" . }}
app.kubernetes.io/part-of: quarry
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/* (dict "root" $ "values" .Values.gateway) -> pinned image reference */}}
{{- define "quarry.image" -}}
{{- $tag := .values.image.tag | default .root.Chart.AppVersion | toString -}}
{{- if or (eq $tag "") (eq $tag "latest") -}}
{{- fail (printf "%s: pin an image tag (not empty, not latest)" .values.image.repository) -}}
{{- end -}}
{{- printf "%s%s:%s" .root.Values.global.imageRegistry .values.image.repository $tag -}}
{{- end -}}

{{- define "quarry.configName" -}}
{{- printf "%s-config" (include "quarry.fullname" .) -}}
{{- end -}}

{{- define "quarry.pgpassSecretName" -}}
{{- .Values.database.pgpass.existingSecret | default (printf "%s-pgpass" (include "quarry.fullname" .)) -}}
{{- end -}}

{{/* A flag value: integral numbers without exponent (values arrive as float64). */}}
{{- define "quarry.flagValue" -}}
{{- if and (kindIs "float64" .) (eq . (float64 (int64 .))) -}}
{{- int64 . -}}
{{- else -}}
{{- . -}}
{{- end -}}
{{- end -}}

{{/* (dict "args" .Values.gateway.args) -> "- --name=value" lines, sorted, empty omitted */}}
{{- define "quarry.serviceArgs" -}}
{{- range $name, $value := .args }}
{{- if not (and (kindIs "string" $value) (eq $value "")) }}
- {{ printf "--%s=%s" $name (include "quarry.flagValue" $value) | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Flags every server gets; values come from the ConfigMap via CFG_ env. */}}
{{- define "quarry.commonArgs" -}}
- --host=0.0.0.0
- --port={{ int .Values.common.grpcPort }}
- --admin_port={{ int .Values.common.metricsPort }}
- --shutdown_grace=$(CFG_SHUTDOWN_GRACE)
- --max_message_bytes=$(CFG_MAX_MESSAGE_BYTES)
- --otlp_endpoint=$(CFG_OTLP_ENDPOINT)
- --trace_sample_ratio=$(CFG_TRACE_SAMPLE_RATIO)
- --log_rpcs=$(CFG_LOG_RPCS)
- --database_url=$(CFG_DATABASE_URL)
{{- end -}}

{{- define "quarry.podAnnotations" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if .Values.common.prometheusAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .Values.common.metricsPort | int | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- with .Values.common.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Pod-level settings shared by every Quarry pod (indented by the caller).
*/}}
{{- define "quarry.podSettings" -}}
automountServiceAccountToken: false
enableServiceLinks: false
terminationGracePeriodSeconds: {{ int .Values.common.terminationGracePeriodSeconds }}
securityContext:
  {{- toYaml .Values.common.podSecurityContext | nindent 2 }}
{{- with .Values.global.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
libpq ignores a group- or world-readable password file and a Secret volume
cannot be owned by a non-root user, so an init container copies the pgpass
file into a memory emptyDir with mode 0600. (dict "root" $ "values" .Values.x)
*/}}
{{- define "quarry.pgpassInitContainer" -}}
- name: pgpass
  image: {{ include "quarry.image" . }}
  imagePullPolicy: {{ .root.Values.global.imagePullPolicy }}
  command: ["/usr/bin/install", "-m", "0600", "/etc/quarry/pgpass-secret/pgpass", "/etc/quarry/pgpass/pgpass"]
  resources:
    requests: {cpu: 10m, memory: 16Mi}
    limits: {cpu: 100m, memory: 32Mi}
  securityContext:
    {{- toYaml .root.Values.common.containerSecurityContext | nindent 4 }}
  volumeMounts:
    - {name: pgpass-secret, mountPath: /etc/quarry/pgpass-secret, readOnly: true}
    - {name: pgpass, mountPath: /etc/quarry/pgpass}
{{- end -}}

{{/* Container fields shared by every Quarry server (env, ports, lifecycle). */}}
{{- define "quarry.containerCommon" -}}
env:
  - name: PGPASSFILE
    value: /etc/quarry/pgpass/pgpass
envFrom:
  - prefix: CFG_
    configMapRef:
      name: {{ include "quarry.configName" . }}
ports:
  - {name: grpc, containerPort: {{ int .Values.common.grpcPort }}, protocol: TCP}
  - {name: metrics, containerPort: {{ int .Values.common.metricsPort }}, protocol: TCP}
readinessProbe:
  grpc: {port: {{ int .Values.common.grpcPort }}}
  periodSeconds: 5
  failureThreshold: 2
livenessProbe:
  grpc: {port: {{ int .Values.common.grpcPort }}}
  periodSeconds: 10
  failureThreshold: 3
lifecycle:
  preStop:
    exec:
      command: ["/bin/sleep", "{{ int .Values.common.preStopSleepSeconds }}"]
securityContext:
  {{- toYaml .Values.common.containerSecurityContext | nindent 2 }}
{{- end -}}

{{- define "quarry.commonVolumeMounts" -}}
- {name: pgpass, mountPath: /etc/quarry/pgpass, readOnly: true}
- {name: tmp, mountPath: /tmp}
{{- end -}}

{{- define "quarry.commonVolumes" -}}
- name: pgpass-secret
  secret:
    secretName: {{ include "quarry.pgpassSecretName" . }}
    defaultMode: 0400
- name: pgpass
  emptyDir: {medium: Memory, sizeLimit: 1Mi}
- name: tmp
  emptyDir: {sizeLimit: 64Mi}
{{- end -}}

{{/* Service ports: gRPC (and metrics). */}}
{{- define "quarry.servicePorts" -}}
- {name: grpc, port: {{ int .Values.common.grpcPort }}, targetPort: grpc, protocol: TCP, appProtocol: grpc}
- {name: metrics, port: {{ int .Values.common.metricsPort }}, targetPort: metrics, protocol: TCP}
{{- end -}}

{{/* (dict "root" $ "component" "gateway" "values" .Values.gateway) -> HPA on CPU */}}
{{- define "quarry.cpuHPA" -}}
{{- if .values.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "quarry.componentName" . }}
  labels:
    {{- include "quarry.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "quarry.componentName" . }}
  minReplicas: {{ int .values.autoscaling.minReplicas }}
  maxReplicas: {{ int .values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ int .values.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- end -}}

{{/* (dict "root" $ "component" "gateway" "values" .Values.gateway) -> PDB */}}
{{- define "quarry.pdb" -}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "quarry.componentName" . }}
  labels:
    {{- include "quarry.labels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .values.pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "quarry.selectorLabels" . | nindent 6 }}
{{- end -}}
