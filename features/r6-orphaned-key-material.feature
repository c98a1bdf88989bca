@R6
Feature: R6. Orphaned key material
  docs/runbooks.md, R6 (translated from scenarios/r6-orphaned-key-material.runbook).
  At the end of a key's waiting period (7 to 30 days) KMS deletes the key's
  metadata and makes one best-effort try to delete its material from the
  cluster. When KMS cannot reach the cluster (store disconnected, kmsuser's
  password changed, network cut) the try fails and the material is orphaned in
  the cluster; backups are never cleaned. CloudTrail's DeleteKey event says
  which backing key was left behind (backingKeysDeletionStatus), and every
  cryptographic event names the store and the backing key, so an operator can
  find the material (attr.id=0x<backingKeyId>) and delete it as kmsuser:
  disconnect, log in as kmsuser (R8), delete, log out and reconnect (R9).

  Background:
    Given the world "../scenarios/worlds/example.yaml"

  @R8 @R9 @trail
  Scenario: deletion while disconnected orphans the material; kmsuser deletes it by backing key id
    When I encrypt "doomed" with "alias/app" as "doomed"
    And I call ScheduleKeyDeletion with:
      | KeyId               | alias/app |
      | PendingWindowInDays | 7         |
    Then the response has "KeyId" equal to "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    And the KeyState of "1234abcd-12ab-34cd-56ef-1234567890ab" is PendingDeletion

    # The store goes down before the waiting period ends, so KMS cannot reach
    # the cluster when it deletes the key.
    When I disconnect the custom key store "ExampleKeyStore"
    Then the KeyState of "1234abcd-12ab-34cd-56ef-1234567890ab" is PendingDeletion
    When I wait 8 days

    # The key is gone from KMS, and so is everything it encrypted.
    And I call DescribeKey with:
      | KeyId | 1234abcd-12ab-34cd-56ef-1234567890ab |
    Then it fails with NotFoundException "does not exist"
    When I decrypt "$doomed"
    Then it fails with NotFoundException

    # KMS's deletion is an AWS service event; its additionalEventData reports
    # the failed try beside the store, the cluster and the backing keys.
    And the DeleteKey event has "eventType" equal to "AwsServiceEvent"
    And the DeleteKey event has "userIdentity.invokedBy" equal to "AWS Internal"
    # requestParameters is null: the runner reads a JSON null as absent.
    And the DeleteKey event has no "requestParameters"
    And the DeleteKey event has "additionalEventData.customKeyStoreId" equal to "$ExampleKeyStore"
    And the DeleteKey event has "additionalEventData.clusterId" equal to "cluster-1a23b4cdefg"
    And the DeleteKey event has "additionalEventData.backingKeys[0].backingKeyId"
    # As R6's page prints the event: backing keys by id alone, the key ARN in
    # responseElements, AWS Internal as the address and the agent.
    And the DeleteKey event has no "additionalEventData.backingKeys[0].keyHandle"
    And the DeleteKey event has "responseElements.keyId" equal to "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    And the DeleteKey event has "sourceIPAddress" equal to "AWS Internal"
    And the DeleteKey event has "userAgent" equal to "AWS Internal"
    And the DeleteKey event shows backingKeysDeletionStatus FAILURE
    And I remember the backingKeyId as "backingKeyId"
    And the DeleteKey event has "additionalEventData.backingKeys[0].backingKeyId" equal to "$backingKeyId"
    # The ScheduleKeyDeletion event named the same backing key a week earlier.
    And the ScheduleKeyDeletion event has "additionalEventData.customKeyStoreId" equal to "$ExampleKeyStore"
    And the ScheduleKeyDeletion event has "additionalEventData.clusterId" equal to "cluster-1a23b4cdefg"
    And the ScheduleKeyDeletion event has "additionalEventData.backingKeys[0].backingKeyId" equal to "$backingKeyId"

    # The repair. The store is already disconnected; an admin sets a password
    # for kmsuser that the operator knows (R8).
    And the ConnectionState of "ExampleKeyStore" is DISCONNECTED
    When an admin sets kmsuser's password on cluster "cluster-1a23b4cdefg" to "orphanPass1"
    And I run "login --username kmsuser --role crypto-user --password orphanPass1" on cluster "cluster-1a23b4cdefg" as "kms"
    Then the response has "data.username" equal to "kmsuser"

    # backingKeyId is the key's id attribute in hex: the filter needs 0x.
    When I run "key list --filter attr.id=${backingKeyId}" on cluster "cluster-1a23b4cdefg" as "kms"
    Then the response has "data.matched_keys" equal to "[]"
    When I run "key list --filter attr.id=0x${backingKeyId} --verbose" on cluster "cluster-1a23b4cdefg" as "kms"
    Then the response has "error_code" equal to "0"
    And the response has "data.total_key_count" equal to "1"
    And the response has "data.matched_keys[0].attributes.id" equal to "0x${backingKeyId}"
    And the response has "data.matched_keys[0].attributes.label" equal to "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    And the response has "data.matched_keys[0]."key-info"."key-owners"[0].username" equal to "kmsuser"

    When I run "key delete --filter attr.id=0x${backingKeyId}" on cluster "cluster-1a23b4cdefg" as "kms"
    Then the response has "error_code" equal to "0"
    And the response has "data.message" equal to "Key deleted successfully"
    When I run "key list --filter attr.id=0x${backingKeyId}" on cluster "cluster-1a23b4cdefg" as "kms"
    Then the response has "data.matched_keys" equal to "[]"
    When I run "logout" on cluster "cluster-1a23b4cdefg" as "kms"
    Then the response has "data" equal to "Logout successful"

    # Tell KMS the password, reconnect (R9).
    When I tell the custom key store "ExampleKeyStore" that the kmsuser password is "orphanPass1"
    And I reconnect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    And "ExampleKeyStore" has no ConnectionErrorCode

  @trail
  Scenario: deletion while connected deletes the material and the trail says SUCCESS
    When I call ScheduleKeyDeletion with:
      | KeyId               | alias/app |
      | PendingWindowInDays | 7         |
    And I remember "additionalEventData.backingKeys[0].backingKeyId" of the ScheduleKeyDeletion event as "backingKeyId"

    # Nothing happens before the waiting period ends.
    When I wait 6 days
    Then the KeyState of "1234abcd-12ab-34cd-56ef-1234567890ab" is PendingDeletion

    When I wait 2 days
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    When I call DescribeKey with:
      | KeyId | 1234abcd-12ab-34cd-56ef-1234567890ab |
    Then it fails with NotFoundException
    # The alias went with the key.
    When I call DescribeKey with:
      | KeyId | alias/app |
    Then it fails with NotFoundException
    And the DeleteKey event has:
      | Path                                                            | Value               |
      | additionalEventData.customKeyStoreId                            | $ExampleKeyStore    |
      | additionalEventData.clusterId                                   | cluster-1a23b4cdefg |
      | additionalEventData.backingKeys[0].backingKeyId                 | $backingKeyId       |
      | additionalEventData.backingKeysDeletionStatus[0].backingKeyId   | $backingKeyId       |
      | additionalEventData.backingKeysDeletionStatus[0].deletionStatus | SUCCESS             |

    # Nothing is left in the cluster: an admin sees every key.
    When I disconnect the custom key store "ExampleKeyStore"
    And I run "login --username admin --role admin --password adminPassword1" on cluster "cluster-1a23b4cdefg" as "admin"
    And I run "key list --filter attr.id=0x${backingKeyId}" on cluster "cluster-1a23b4cdefg" as "admin"
    Then the response has "data.matched_keys" equal to "[]"
    When I run "key list" on cluster "cluster-1a23b4cdefg" as "admin"
    Then the response has "data.total_key_count" equal to "0"
    When I run "logout" on cluster "cluster-1a23b4cdefg" as "admin"

  Scenario Outline: the waiting period is 7 to 30 days: <days> days are refused
    When I call ScheduleKeyDeletion with:
      | KeyId               | alias/app |
      | PendingWindowInDays | <days>    |
    Then it fails with ValidationException
    And the KeyState of "alias/app" is Enabled

    Examples:
      | days |
      | 6    |
      | 31   |

  Scenario Outline: the waiting period is 7 to 30 days: after <days> days the key and its material are deleted
    When I call ScheduleKeyDeletion with:
      | KeyId               | alias/app |
      | PendingWindowInDays | <days>    |
    Then it succeeds
    When I wait <earlier> days
    Then the KeyState of "alias/app" is PendingDeletion
    When I wait 2 days
    And I call DescribeKey with:
      | KeyId | 1234abcd-12ab-34cd-56ef-1234567890ab |
    Then it fails with NotFoundException
    And the DeleteKey event shows backingKeysDeletionStatus SUCCESS

    Examples:
      | days | earlier |
      | 7    | 6       |
      | 30   | 29      |

  @R5
  Scenario: a kmsuser password changed behind KMS's back makes the deletion fail
    When I call ScheduleKeyDeletion with:
      | KeyId               | alias/app |
      | PendingWindowInDays | 7         |
    # Someone resets kmsuser's password; KMS's next connect cannot log in.
    And I disconnect the custom key store "ExampleKeyStore"
    And an admin sets kmsuser's password on cluster "cluster-1a23b4cdefg" to "changedPass1"
    And I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is FAILED
    And the ConnectionErrorCode of "ExampleKeyStore" is INVALID_CREDENTIALS
    # A pending deletion stays pending while the store cannot be used (R1).
    And the KeyState of "alias/app" is PendingDeletion

    When I wait 8 days
    And I call DescribeKey with:
      | KeyId | 1234abcd-12ab-34cd-56ef-1234567890ab |
    Then it fails with NotFoundException
    And the DeleteKey event shows backingKeysDeletionStatus FAILURE
    And I remember the backingKeyId as "backingKeyId"

    # The material is still in the cluster, for the one who knows the password.
    When I run "login --username kmsuser --role crypto-user --password changedPass1" on cluster "cluster-1a23b4cdefg" as "kms"
    And I run "key delete --filter attr.id=0x${backingKeyId}" on cluster "cluster-1a23b4cdefg" as "kms"
    Then the response has "error_code" equal to "0"
    And the response has "data.message" equal to "Key deleted successfully"
    When I run "logout" on cluster "cluster-1a23b4cdefg" as "kms"
    And I disconnect the custom key store "ExampleKeyStore"
    And I tell the custom key store "ExampleKeyStore" that the kmsuser password is "changedPass1"
    And I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED

  @R4
  Scenario: a network cut while connected makes the deletion fail too
    When I call ScheduleKeyDeletion with:
      | KeyId               | alias/app |
      | PendingWindowInDays | 7         |
    And the network to cluster "cluster-1a23b4cdefg" is blocked
    And I wait 8 days
    # The store still reads CONNECTED (AWS keeps it so while the cluster is
    # unreachable), but the best-effort delete could not get through.
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    And the DeleteKey event shows backingKeysDeletionStatus FAILURE

  @R7
  Scenario: backups are never cleaned: a backup still holds a deleted key's material
    # backup-9g87f6edcba was taken while the key existed.
    When I call ScheduleKeyDeletion with:
      | KeyId               | alias/app |
      | PendingWindowInDays | 7         |
    And I wait 8 days
    Then the DeleteKey event shows backingKeysDeletionStatus SUCCESS
    And I remember the backingKeyId as "backingKeyId"

    When I call DescribeClusters with:
      """
      Filters: { clusterIds: [cluster-1a23b4cdefg] }
      """
    And I remember "Clusters[0].SubnetMapping."us-west-2a"" of the response as "subnetA"
    And I remember "Clusters[0].SubnetMapping."us-west-2b"" of the response as "subnetB"
    And I call CreateCluster with:
      """
      HsmType: hsm2m.medium, SubnetIds: [$subnetA, $subnetB], SourceBackupId: backup-9g87f6edcba
      """
    And I remember "Cluster.ClusterId" of the response as "restored"
    And pending work settles
    And I call CreateHsm with:
      | ClusterId        | $restored  |
      | AvailabilityZone | us-west-2a |
    And pending work settles
    And an admin sets kmsuser's password on cluster "$restored" to "backupPass1"
    And I run "login --username kmsuser --role crypto-user --password backupPass1" on cluster "$restored" as "kms"
    And I run "key list --filter attr.id=0x${backingKeyId}" on cluster "$restored" as "kms"
    Then the response has "data.total_key_count" equal to "1"
    And the response has "data.matched_keys[0].attributes.label" equal to "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    When I run "logout" on cluster "$restored" as "kms"

  @trail
  Scenario Outline: the <operation> trail event carries the custom key store and the backing key
    When I encrypt "audited" with "alias/app" as "ct"
    And I remember "additionalEventData.backingKey.backingKeyId" of the Encrypt event as "backingKeyId"
    And I call <operation> with:
      """
      <input>
      """
    Then it succeeds
    And the <operation> event has "additionalEventData.customKeyStoreId" equal to "$ExampleKeyStore"
    And the <operation> event has "additionalEventData.backingKey.backingKeyId" equal to "$backingKeyId"
    And the <operation> event has "resources[0].ARN" equal to "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    # backingKey is a JSON string: {"keyHandle":"…","backingKeyId":"…"}.
    And the <operation> event has "additionalEventData.backingKey.keyHandle"

    Examples:
      | operation                       | input                                            |
      | Encrypt                         | KeyId: alias/app, Plaintext: "YWdhaW4="          |
      | Decrypt                         | CiphertextBlob: $ct                              |
      | ReEncrypt                       | CiphertextBlob: $ct, DestinationKeyId: alias/app |
      | GenerateDataKey                 | KeyId: alias/app, KeySpec: AES_256               |
      | GenerateDataKeyWithoutPlaintext | KeyId: alias/app, NumberOfBytes: 32              |

  @trail
  Scenario: a failed cryptographic call is logged too, and its backing key is the key's id attribute in the cluster
    When I encrypt "audited" with "alias/app" as "ct"
    And I remember "additionalEventData.backingKey.backingKeyId" of the Encrypt event as "backingKeyId"

    # A failed call is logged too, with the same additionalEventData.
    When I disconnect the custom key store "ExampleKeyStore"
    And I encrypt "refused" with "alias/app"
    Then it fails with KMSInvalidStateException "is unavailable."
    And the Encrypt event has:
      | Path                                        | Value                    |
      | errorCode                                   | KMSInvalidStateException |
      | additionalEventData.customKeyStoreId        | $ExampleKeyStore         |
      | additionalEventData.backingKey.backingKeyId | $backingKeyId            |

    # The backing key is the key's material in the cluster: its id attribute.
    When an admin sets kmsuser's password on cluster "cluster-1a23b4cdefg" to "auditPass1"
    And I run "login --username kmsuser --role crypto-user --password auditPass1" on cluster "cluster-1a23b4cdefg" as "kms"
    And I run "key list --filter attr.label=arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab --verbose" on cluster "cluster-1a23b4cdefg" as "kms"
    Then the response has "data.matched_keys[0].attributes.id" equal to "0x${backingKeyId}"
    When I run "logout" on cluster "cluster-1a23b4cdefg" as "kms"

  @trail
  Scenario: CreateKey's trail event has the new key's backing key, labelled with its ARN in the cluster
    When I call CreateKey with:
      | CustomKeyStoreId | $ExampleKeyStore |
      | Origin           | AWS_CLOUDHSM     |
    And I remember "KeyMetadata.KeyId" of the response as "newKey"
    And I remember "Arn" of the key "$newKey" as "newArn"
    Then the CreateKey event has:
      | Path                                           | Value               |
      | requestParameters.origin                       | AWS_CLOUDHSM        |
      | requestParameters.customKeyStoreId             | $ExampleKeyStore    |
      | responseElements.keyMetadata.keyId             | $newKey             |
      | responseElements.keyMetadata.customKeyStoreId  | $ExampleKeyStore    |
      | responseElements.keyMetadata.cloudHsmClusterId | cluster-1a23b4cdefg |
    And the CreateKey event has "additionalEventData.backingKey.keyHandle"
    And I remember "additionalEventData.backingKey.backingKeyId" of the CreateKey event as "backingKeyId"

    # The crypto events of the new key name the same backing key.
    When I encrypt "new" with "$newKey"
    Then the Encrypt event has "additionalEventData.backingKey.backingKeyId" equal to "$backingKeyId"

    # The backing key is the new key's material in the cluster.
    When I disconnect the custom key store "ExampleKeyStore"
    And an admin sets kmsuser's password on cluster "cluster-1a23b4cdefg" to "findPass123"
    And I run "login --username kmsuser --role crypto-user --password findPass123" on cluster "cluster-1a23b4cdefg" as "kms"
    And I run "key list --filter attr.id=0x${backingKeyId}" on cluster "cluster-1a23b4cdefg" as "kms"
    Then the response has "data.total_key_count" equal to "1"
    And the response has "data.matched_keys[0].attributes.label" equal to "$newArn"
    When I run "logout" on cluster "cluster-1a23b4cdefg" as "kms"
