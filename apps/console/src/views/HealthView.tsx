import {
  Alert,
  Button,
  Card,
  CardBody,
  CardTitle,
  DescriptionList,
  DescriptionListDescription,
  DescriptionListGroup,
  DescriptionListTerm,
  Label,
  PageSection,
  Title,
} from '@patternfly/react-core';
import { Gallery } from '@patternfly/react-core';
import { api } from '../api/client';
import { useLoad } from '../components/use-load';
import { useLive } from '../live/events';
import { useEffect } from 'react';

type Health = NonNullable<Awaited<ReturnType<typeof loadHealth>>>;
type Report = Health['gateway'];

/** GET /health answers 503 with the same body when something is down: both are a report. */
async function loadHealth() {
  const { data, error } = await api.GET('/api/v1/health');
  return data ?? (error as NonNullable<typeof data>);
}

function StatusLabel({ status }: { status: string }) {
  const color = status === 'ok' ? 'green' : status === 'degraded' ? 'orange' : 'red';
  return <Label color={color}>{status}</Label>;
}

function ReportCard({ name, report }: { name: string; report: Report }) {
  return (
    <Card isCompact>
      <CardTitle>
        {name} <StatusLabel status={report.status} />
      </CardTitle>
      <CardBody>
        <DescriptionList isCompact isHorizontal>
          {Object.entries(report.checks ?? {}).map(([dep, check]) => (
            <DescriptionListGroup key={dep}>
              <DescriptionListTerm>{dep}</DescriptionListTerm>
              <DescriptionListDescription>
                {check.ok ? `ok (${check.latencyMs ?? '?'} ms)` : `down: ${check.error ?? 'no answer'}`}
              </DescriptionListDescription>
            </DescriptionListGroup>
          ))}
          {report.error && (
            <DescriptionListGroup>
              <DescriptionListTerm>error</DescriptionListTerm>
              <DescriptionListDescription>{report.error}</DescriptionListDescription>
            </DescriptionListGroup>
          )}
        </DescriptionList>
      </CardBody>
    </Card>
  );
}

/** Every service, and each one's Postgres and NATS; checked again whenever the stream reconnects. */
export function HealthView() {
  const { data, error, reload } = useLoad(loadHealth);
  const { connection } = useLive();
  useEffect(() => {
    if (connection === 'live') reload();
  }, [connection, reload]);
  return (
    <PageSection>
      <Title headingLevel="h1">
        Health {data && <StatusLabel status={data.status} />}{' '}
        <Button variant="link" onClick={reload}>
          Check again
        </Button>
      </Title>
      {error && <Alert variant="danger" isInline title={error} />}
      {data && (
        <Gallery hasGutter minWidths={{ default: '260px' }}>
          <ReportCard name="gateway" report={data.gateway} />
          {Object.entries(data.services).map(([name, report]) => (
            <ReportCard key={name} name={name} report={report} />
          ))}
        </Gallery>
      )}
    </PageSection>
  );
}
