import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';

export class EventsQuery {
  /** Only events whose type starts with this, e.g. `ferry.vm-operator.template.`. */
  @ApiPropertyOptional({ example: 'ferry.vm-operator.template.' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  @Matches(/^ferry\.[A-Za-z0-9._-]*$/, {
    message: 'type must be a prefix of an event type, starting with "ferry."',
  })
  type?: string;

  /** Only events about this entity id (the CloudEvents `subject`). */
  @ApiPropertyOptional({ example: 'small' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  subject?: string;
}
