{{/*
One component's Deployment. Called with a dict:
  root         the chart's root context ($)
  component    agent-registry | queue-service | media-relay | signaling-edge
  svc          the component's values
  hostNetwork  run on the node's network (edge and relay in hostNetwork mode)
  autoscaled   an HPA owns the replica count
  env          extra container env entries (YAML text)
  ports        extra container ports (YAML text)
  volumes      extra volumes (YAML text) and volumeMounts (mounts, YAML text)
*/}}
{{- define "cc.deployment" -}}
{{- $root := .root -}}
{{- $svc := .svc -}}
{{- $minGrace := add (int $svc.preStopSleepSeconds) (int $svc.drainTimeoutSeconds) 5 -}}
{{- if lt (int $svc.terminationGracePeriodSeconds) $minGrace -}}
{{- fail (printf "%s: terminationGracePeriodSeconds (%d) must be at least preStopSleepSeconds + drainTimeoutSeconds + 5 = %d" .component (int $svc.terminationGracePeriodSeconds) $minGrace) -}}
{{- end -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "cc.fullname" $root }}-{{ .component }}
  labels:
    {{- include "cc.componentLabels" . | nindent 4 }}
spec:
  {{- if not .autoscaled }}
  replicas: {{ int $svc.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "cc.selectorLabels" . | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      {{- if .hostNetwork }}
      # One pod per node (host ports): replace in place.
      maxSurge: 0
      maxUnavailable: 1
      {{- else }}
      maxSurge: 1
      maxUnavailable: 0
      {{- end }}
  template:
    metadata:
      labels:
        {{- include "cc.selectorLabels" . | nindent 8 }}
        {{- with $svc.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        checksum/secret: {{ include (print $root.Template.BasePath "/secret.yaml") $root | sha256sum }}
        {{- if $root.Values.metrics.podAnnotations }}
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ int $svc.ports.metrics | toString | quote }}
        prometheus.io/path: /metrics
        {{- end }}
        {{- with $svc.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "cc.serviceAccountName" $root }}
      automountServiceAccountToken: false
      # No CC_*-looking service link variables from other Services in the namespace.
      enableServiceLinks: false
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if .hostNetwork }}
      hostNetwork: true
      dnsPolicy: ClusterFirstWithHostNet
      {{- end }}
      {{- with $svc.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      terminationGracePeriodSeconds: {{ int $svc.terminationGracePeriodSeconds }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      containers:
        - name: {{ .component }}
          image: {{ include "cc.image" (dict "root" $root "svc" $svc) | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          securityContext:
            {{- toYaml $root.Values.containerSecurityContext | nindent 12 }}
          ports:
            - name: grpc
              containerPort: {{ int $svc.ports.grpc }}
              protocol: TCP
            - name: metrics
              containerPort: {{ int $svc.ports.metrics }}
              protocol: TCP
            {{- with .ports }}
            {{- . | nindent 12 }}
            {{- end }}
          env:
            - name: CC_GRPC_LISTEN
              value: {{ printf "0.0.0.0:%d" (int $svc.ports.grpc) | quote }}
            - name: CC_METRICS_LISTEN
              value: {{ printf "0.0.0.0:%d" (int $svc.ports.metrics) | quote }}
            - name: CC_LOG_FORMAT
              value: {{ $root.Values.logFormat | quote }}
            - name: CC_LOG_LEVEL
              value: {{ $root.Values.logLevel | quote }}
            - name: CC_INSTANCE_ID
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            - name: CC_DRAIN_TIMEOUT
              value: {{ printf "%ds" (int $svc.drainTimeoutSeconds) | quote }}
            - name: CC_NATS_URL
              value: {{ include "cc.natsUrl" $root | quote }}
            - name: CC_NATS_SUBJECT_PREFIX
              value: {{ $root.Values.natsSubjectPrefix | quote }}
            # The gRPC API's bearer tokens (the secret's api-tokens), and the one this
            # component sends: the edge's own, the admin's elsewhere (for ccctl in the pod).
            - name: CC_API_TOKENS
              value: /run/cc-api/api-tokens
            - name: CC_API_TOKEN_FILE
              value: {{ ternary "/run/cc-api/api-edge-token" "/run/cc-api/api-admin-token" (eq .component "signaling-edge") | quote }}
            {{- with .env }}
            {{- . | nindent 12 }}
            {{- end }}
            {{- range $name, $value := $svc.config }}
            - name: {{ printf "CC_%s" ($name | upper | replace "-" "_") }}
              {{- if kindIs "float64" $value }}
              value: {{ int64 $value | toString | quote }}
              {{- else }}
              value: {{ $value | toString | quote }}
              {{- end }}
            {{- end }}
            {{- with $svc.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          # Started: gRPC health answers SERVING. Ready: the same (NOT_SERVING while draining
          # takes the pod out of its Services). Alive: the gRPC port accepts connections
          # (not health, so that a long drain is not mistaken for a hang).
          startupProbe:
            grpc:
              port: {{ int $svc.ports.grpc }}
            periodSeconds: 2
            failureThreshold: 60
          readinessProbe:
            grpc:
              port: {{ int $svc.ports.grpc }}
            periodSeconds: 5
            timeoutSeconds: 2
            failureThreshold: 2
          livenessProbe:
            tcpSocket:
              port: grpc
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 6
          lifecycle:
            preStop:
              exec:
                command: ["/bin/sleep", {{ int $svc.preStopSleepSeconds | toString | quote }}]
          resources:
            {{- toYaml $svc.resources | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            - name: api-tokens
              mountPath: /run/cc-api
              readOnly: true
            {{- with .mounts }}
            {{- . | nindent 12 }}
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
        - name: api-tokens
          secret:
            secretName: {{ include "cc.secretName" $root }}
            defaultMode: 0440
            items:
              - {key: api-tokens, path: api-tokens}
              - {key: api-admin-token, path: api-admin-token}
              - {key: api-edge-token, path: api-edge-token}
        {{- with .volumes }}
        {{- . | nindent 8 }}
        {{- end }}
      {{- if .hostNetwork }}
      affinity:
        # Host ports: never two pods of this component on one node.
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - topologyKey: kubernetes.io/hostname
              labelSelector:
                matchLabels:
                  {{- include "cc.selectorLabels" . | nindent 18 }}
        {{- with (get $svc.affinity "nodeAffinity") }}
        nodeAffinity:
          {{- toYaml . | nindent 10 }}
        {{- end }}
      {{- else }}
      {{- with $svc.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- end }}
      {{- with $svc.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $svc.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $svc.topologySpreadConstraints }}
      topologySpreadConstraints:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}

{{/* The ClusterIP Service of a component (gRPC and metrics): (dict "root" $ "component" c "svc" v) */}}
{{- define "cc.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "cc.fullname" .root }}-{{ .component }}
  labels:
    {{- include "cc.componentLabels" . | nindent 4 }}
    callcenter/metrics: "true"
spec:
  type: ClusterIP
  selector:
    {{- include "cc.selectorLabels" . | nindent 4 }}
  ports:
    - name: grpc
      port: {{ int .svc.ports.grpc }}
      targetPort: grpc
      protocol: TCP
      appProtocol: grpc
    - name: metrics
      port: {{ int .svc.ports.metrics }}
      targetPort: metrics
      protocol: TCP
      appProtocol: http
{{- end -}}
