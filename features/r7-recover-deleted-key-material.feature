@R7
Feature: R7. Recovering deleted key material
  docs/runbooks.md, R7; mirrors scenarios/r7-recover-deleted-key-material.runbook
  block by block. Deleting a KMS key's material from the cluster makes the key
  unusable: its cryptographic operations raise KMSInvalidStateException, and
  nothing it encrypted can be decrypted. Only a crypto user that owns a key can
  delete it. The material comes back only from a backup taken while the key
  existed: DescribeBackups (filter clusterIds), CreateCluster from that backup,
  disconnect the store, UpdateCustomKeyStore CloudHsmClusterId to the new
  cluster (which must share backup history with the old one), reconnect.
  Ciphertext made before the deletion decrypts again.

  The key's KeyState eventually reads Unavailable after the deletion
  (docs/fidelity.md F25, I53), and its previous state once recovered.

  @R6 @R8 @R9
  Scenario: deleted key material is recovered from a backup taken while the key existed
    Given the world "../scenarios/worlds/example.yaml"

    # A backup on demand, while the key exists (an hour after the world's
    # backup-9g87f6edcba, so DescribeBackups lists it first).
    When I wait 1 hour
    And I take a backup of cluster "cluster-1a23b4cdefg" as "b"
    And pending work settles
    And I encrypt "before" with "alias/app" as "before"

    # The incident: someone deletes the key material as kmsuser (R6's steps).
    When I disconnect the custom key store "ExampleKeyStore"
    And I run "login --username admin --role admin --password adminPassword1" on cluster "cluster-1a23b4cdefg" as "admin"
    And I run "user change-password --username kmsuser --role crypto-user --password tempPass123" on cluster "cluster-1a23b4cdefg" as "admin"
    And I run "logout" on cluster "cluster-1a23b4cdefg" as "admin"
    And I run "login --username kmsuser --role crypto-user --password tempPass123" on cluster "cluster-1a23b4cdefg" as "kms"
    And I run "key delete --filter attr.label=arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab" on cluster "cluster-1a23b4cdefg" as "kms"
    Then the response has "data.message" equal to "Key deleted successfully"
    When I run "logout" on cluster "cluster-1a23b4cdefg" as "kms"
    And I call UpdateCustomKeyStore with:
      | CustomKeyStoreId | $ExampleKeyStore |
      | KeyStorePassword | tempPass123      |
    And I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED

    # The store is connected, yet the key cannot be used.
    When I encrypt "after" with "alias/app"
    Then it fails with KMSInvalidStateException "is unavailable."
    When I decrypt "$before"
    Then it fails with KMSInvalidStateException "is unavailable."
    When I call GenerateDataKey with:
      | KeyId   | alias/app |
      | KeySpec | AES_256   |
    Then it fails with KMSInvalidStateException

    # Recovery. Find the backups of the cluster (newest first).
    When I call DescribeBackups with:
      """
      Filters: { clusterIds: [cluster-1a23b4cdefg] }
      """
    Then the response has "Backups[0].BackupId" equal to "$b"
    And the response has "Backups[0].BackupState" equal to "READY"
    And the response has "Backups[0].ClusterId" equal to "cluster-1a23b4cdefg"
    And the response has "Backups[1].BackupId" equal to "backup-9g87f6edcba"

    # A cluster from the backup, in the same subnets.
    When I call DescribeClusters with:
      """
      Filters: { clusterIds: [cluster-1a23b4cdefg] }
      """
    And I remember "Clusters[0].SubnetMapping."us-west-2a"" of the response as "subnetA"
    And I remember "Clusters[0].SubnetMapping."us-west-2b"" of the response as "subnetB"
    And I call CreateCluster with:
      """
      HsmType: hsm2m.medium, SubnetIds: [$subnetA, $subnetB], SourceBackupId: $b
      """
    And I remember "Cluster.ClusterId" of the response as "newCluster"
    Then the response has "Cluster.State" equal to "CREATE_IN_PROGRESS"
    And the response has "Cluster.SourceBackupId" equal to "$b"
    When pending work settles
    # A cluster from a backup is already initialized and activated, with no HSM.
    And I call DescribeClusters with:
      """
      Filters: { clusterIds: [$newCluster] }
      """
    Then the response has "Clusters[0].State" equal to "ACTIVE"
    And the response has "Clusters[0].Hsms" equal to "[]"
    When I call CreateHsm with:
      | ClusterId        | $newCluster |
      | AvailabilityZone | us-west-2a  |
    Then the response has "Hsm.State" equal to "CREATE_IN_PROGRESS"
    When I call CreateHsm with:
      | ClusterId        | $newCluster |
      | AvailabilityZone | us-west-2b  |
    And pending work settles
    And I call DescribeClusters with:
      """
      Filters: { clusterIds: [$newCluster] }
      """
    Then the response has "Clusters[0].Hsms[0].State" equal to "ACTIVE"
    And the response has "Clusters[0].Hsms[1].State" equal to "ACTIVE"

    # The cluster can only be changed while the store is disconnected.
    When I call UpdateCustomKeyStore with:
      | CustomKeyStoreId  | $ExampleKeyStore |
      | CloudHsmClusterId | $newCluster      |
    Then it fails with CustomKeyStoreInvalidStateException
    When I disconnect the custom key store "ExampleKeyStore"

    # The backup holds the kmsuser password KMS had rotated to: set a known one
    # in the new cluster and tell KMS along with the cluster id.
    And I run "login --username admin --role admin --password adminPassword1" on cluster "$newCluster" as "admin"
    And I run "user change-password --username kmsuser --role crypto-user --password recoverPass1" on cluster "$newCluster" as "admin"
    And I run "logout" on cluster "$newCluster" as "admin"
    And I call UpdateCustomKeyStore with:
      | CustomKeyStoreId  | $ExampleKeyStore |
      | CloudHsmClusterId | $newCluster      |
      | KeyStorePassword  | recoverPass1     |
    Then the custom key store "ExampleKeyStore" has "CloudHsmClusterId" equal to "$newCluster"
    And the UpdateCustomKeyStore event has "requestParameters.clusterId" equal to "$newCluster"
    When I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    And the key "alias/app" has "CloudHsmClusterId" equal to "$newCluster"

    # What was encrypted before the deletion decrypts again; new work goes on.
    And "$before" decrypts to "before"
    When I encrypt "after" with "alias/app" as "after"
    Then "$after" decrypts to "after"

  @R2
  Scenario: a cluster from a backup recovers after the original cluster is deleted
    Given the world "../scenarios/worlds/example.yaml"

    # backup-9g87f6edcba was taken while the key existed.
    When I encrypt "before" with "alias/app" as "before"
    And I call DescribeClusters with:
      """
      Filters: { clusterIds: [cluster-1a23b4cdefg] }
      """
    And I remember "Clusters[0].SubnetMapping."us-west-2a"" of the response as "subnetA"
    And I remember "Clusters[0].SubnetMapping."us-west-2b"" of the response as "subnetB"

    When cluster "cluster-1a23b4cdefg" is deleted
    And I call DescribeClusters with:
      """
      Filters: { clusterIds: [cluster-1a23b4cdefg] }
      """
    Then the response has "Clusters[0].State" equal to "DELETED"
    # The store still reads CONNECTED, but KMS cannot reach the cluster (R2).
    And the ConnectionState of "ExampleKeyStore" is CONNECTED
    When I decrypt "$before"
    Then it fails with KMSInvalidStateException "communicate"

    # Backups outlive their cluster.
    When I call DescribeBackups with:
      """
      Filters: { clusterIds: [cluster-1a23b4cdefg] }
      """
    Then the response has "Backups[0].BackupId" equal to "backup-9g87f6edcba"
    And the response has "Backups[0].BackupState" equal to "READY"

    When I call CreateCluster with:
      """
      HsmType: hsm2m.medium, SubnetIds: [$subnetA, $subnetB], SourceBackupId: backup-9g87f6edcba
      """
    And I remember "Cluster.ClusterId" of the response as "newCluster"
    And pending work settles
    And I call CreateHsm with:
      | ClusterId        | $newCluster |
      | AvailabilityZone | us-west-2a  |
    And I call CreateHsm with:
      | ClusterId        | $newCluster |
      | AvailabilityZone | us-west-2b  |
    And pending work settles
    And I disconnect the custom key store "ExampleKeyStore"
    And I run "login --username admin --role admin --password adminPassword1" on cluster "$newCluster" as "admin"
    And I run "user change-password --username kmsuser --role crypto-user --password recoverPass1" on cluster "$newCluster" as "admin"
    And I run "logout" on cluster "$newCluster" as "admin"
    And I call UpdateCustomKeyStore with:
      | CustomKeyStoreId  | $ExampleKeyStore |
      | CloudHsmClusterId | $newCluster      |
      | KeyStorePassword  | recoverPass1     |
    And I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    And the custom key store "ExampleKeyStore" has "CloudHsmClusterId" equal to "$newCluster"
    And "$before" decrypts to "before"

  Scenario: a backup taken after the deletion cannot bring the material back
    Given the world "../scenarios/worlds/example.yaml"

    When I encrypt "before" with "alias/app" as "before"
    And I disconnect the custom key store "ExampleKeyStore"
    And I run "login --username admin --role admin --password adminPassword1" on cluster "cluster-1a23b4cdefg" as "admin"
    And I run "user change-password --username kmsuser --role crypto-user --password tempPass123" on cluster "cluster-1a23b4cdefg" as "admin"
    And I run "logout" on cluster "cluster-1a23b4cdefg" as "admin"
    And I run "login --username kmsuser --role crypto-user --password tempPass123" on cluster "cluster-1a23b4cdefg" as "kms"
    And I run "key delete --filter attr.label=arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab" on cluster "cluster-1a23b4cdefg" as "kms"
    Then the response has "error_code" equal to "0"
    When I run "logout" on cluster "cluster-1a23b4cdefg" as "kms"

    # Too late: this backup is of a cluster without the material.
    And I take a backup of cluster "cluster-1a23b4cdefg" as "late"
    And pending work settles
    And I call DescribeClusters with:
      """
      Filters: { clusterIds: [cluster-1a23b4cdefg] }
      """
    And I remember "Clusters[0].SubnetMapping."us-west-2a"" of the response as "subnetA"
    And I remember "Clusters[0].SubnetMapping."us-west-2b"" of the response as "subnetB"
    And I call CreateCluster with:
      """
      HsmType: hsm2m.medium, SubnetIds: [$subnetA, $subnetB], SourceBackupId: $late
      """
    And I remember "Cluster.ClusterId" of the response as "newCluster"
    And pending work settles
    And I call CreateHsm with:
      | ClusterId        | $newCluster |
      | AvailabilityZone | us-west-2a  |
    And I call CreateHsm with:
      | ClusterId        | $newCluster |
      | AvailabilityZone | us-west-2b  |
    And pending work settles
    And I call UpdateCustomKeyStore with:
      | CustomKeyStoreId  | $ExampleKeyStore |
      | CloudHsmClusterId | $newCluster      |
      | KeyStorePassword  | tempPass123      |
    And I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    And the custom key store "ExampleKeyStore" has "CloudHsmClusterId" equal to "$newCluster"
    When I decrypt "$before"
    Then it fails with KMSInvalidStateException "is unavailable."

  Scenario: UpdateCustomKeyStore refuses a cluster that shares no backup history
    Given the world "../scenarios/worlds/example.yaml"

    # A brand-new cluster: created, two HSMs, initialized, activated.
    When I call CreateCluster with:
      """
      HsmType: hsm2m.medium, SubnetIds: [subnet-0123abcd01, subnet-0123abcd02]
      """
    And I remember "Cluster.ClusterId" of the response as "other"
    And pending work settles
    And I call CreateHsm with:
      | ClusterId        | $other     |
      | AvailabilityZone | us-west-2a |
    And I call CreateHsm with:
      | ClusterId        | $other     |
      | AvailabilityZone | us-west-2b |
    And pending work settles
    And I sign the CSR of cluster "$other" with the drill CA
    And I remember "SignedCert" of the response as "otherCert"
    And I remember "TrustAnchor" of the response as "otherCA"
    And I call InitializeCluster with:
      """
      ClusterId: $other
      SignedCert: $otherCert
      TrustAnchor: $otherCA
      """
    And pending work settles
    And I run "cluster activate --password adminPassword1" on cluster "$other" as "admin"
    And I call DescribeClusters with:
      """
      Filters: { clusterIds: [$other] }
      """
    Then the response has "Clusters[0].State" equal to "ACTIVE"

    When I disconnect the custom key store "ExampleKeyStore"
    And I call UpdateCustomKeyStore with:
      | CustomKeyStoreId  | $ExampleKeyStore |
      | CloudHsmClusterId | $other           |
    Then it fails with CloudHsmClusterNotRelatedException
    # Nothing changed: the store still uses its cluster and reconnects to it.
    And the custom key store "ExampleKeyStore" has "CloudHsmClusterId" equal to "cluster-1a23b4cdefg"
    When I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    When I encrypt "still here" with "alias/app"
    Then it succeeds

  @R8
  Scenario: only the crypto user that owns a key can delete it
    Given the world "../scenarios/worlds/example.yaml"

    When I disconnect the custom key store "ExampleKeyStore"
    And I run "login --username admin --role admin --password adminPassword1" on cluster "cluster-1a23b4cdefg" as "admin"
    And I run "user create --username alice --role crypto-user --password alicePass1" on cluster "cluster-1a23b4cdefg" as "admin"
    Then the response has "data.username" equal to "alice"
    And the response has "data.role" equal to "crypto-user"
    # An admin cannot delete keys either.
    When I run "key delete --filter attr.label=arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab" on cluster "cluster-1a23b4cdefg" as "admin"
    Then the CloudHSM CLI reports an error containing "Only a crypto user"
    When I run "logout" on cluster "cluster-1a23b4cdefg" as "admin"

    # A second crypto user cannot delete kmsuser's key: it does not even see
    # it (a crypto user sees the keys it owns or that are shared with it).
    And I run "login --username alice --role crypto-user --password alicePass1" on cluster "cluster-1a23b4cdefg" as "alice"
    And I run "key delete --filter attr.label=arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab" on cluster "cluster-1a23b4cdefg" as "alice"
    Then the CloudHSM CLI reports an error containing "No keys matched"
    When I run "logout" on cluster "cluster-1a23b4cdefg" as "alice"

    # kmsuser still owns it, and the key still works.
    And I run "login --username admin --role admin --password adminPassword1" on cluster "cluster-1a23b4cdefg" as "admin"
    And I run "user change-password --username kmsuser --role crypto-user --password ownerPass123" on cluster "cluster-1a23b4cdefg" as "admin"
    And I run "logout" on cluster "cluster-1a23b4cdefg" as "admin"
    And I run "login --username kmsuser --role crypto-user --password ownerPass123" on cluster "cluster-1a23b4cdefg" as "kms"
    And I run "key list --filter attr.label=arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab --verbose" on cluster "cluster-1a23b4cdefg" as "kms"
    Then the response has "data.total_key_count" equal to "1"
    And the response has "data.matched_keys[0]."key-info"."key-owners"[0].username" equal to "kmsuser"
    When I run "logout" on cluster "cluster-1a23b4cdefg" as "kms"
    And I call UpdateCustomKeyStore with:
      | CustomKeyStoreId | $ExampleKeyStore |
      | KeyStorePassword | ownerPass123     |
    And I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    When I encrypt "still here" with "alias/app"
    Then it succeeds

  # The key's KeyState "eventually" becomes Unavailable once its material is
  # gone (docs/fidelity.md F25): after the world's
  # timing.key_material_unavailable_seconds, 5 minutes by default (I53).
  Scenario: a key whose material is deleted reads Unavailable after a delay, and Enabled once recovered
    Given the world "../scenarios/worlds/example.yaml"

    When I wait 1 hour
    And I take a backup of cluster "cluster-1a23b4cdefg" as "b"
    And pending work settles
    And I encrypt "before" with "alias/app" as "before"

    # The deletion, as kmsuser, while the store is disconnected (R6's steps).
    When I disconnect the custom key store "ExampleKeyStore"
    And I run "login --username admin --role admin --password adminPassword1" on cluster "cluster-1a23b4cdefg" as "admin"
    And I run "user change-password --username kmsuser --role crypto-user --password tempPass123" on cluster "cluster-1a23b4cdefg" as "admin"
    And I run "logout" on cluster "cluster-1a23b4cdefg" as "admin"
    And I run "login --username kmsuser --role crypto-user --password tempPass123" on cluster "cluster-1a23b4cdefg" as "kms"
    And I run "key delete --filter attr.label=arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab" on cluster "cluster-1a23b4cdefg" as "kms"
    And I run "logout" on cluster "cluster-1a23b4cdefg" as "kms"
    And I call UpdateCustomKeyStore with:
      | CustomKeyStoreId | $ExampleKeyStore |
      | KeyStorePassword | tempPass123      |
    And I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED

    # At first the key still reads Enabled, though its crypto fails.
    And the KeyState of "alias/app" is Enabled
    When I encrypt "after" with "alias/app"
    Then it fails with KMSInvalidStateException "is unavailable."
    When I wait 4 minutes
    Then the KeyState of "alias/app" is Enabled
    # Eventually (5 minutes after the deletion) it reads Unavailable, and
    # stays so: the material does not come back by itself.
    When I wait 1 minute
    Then the KeyState of "alias/app" is Unavailable
    And the key "alias/app" has "Enabled" equal to "false"
    When I wait 30 days
    Then the KeyState of "alias/app" is Unavailable
    When I decrypt "$before"
    Then it fails with KMSInvalidStateException "is unavailable."

    # Recovery from the backup taken while the key existed.
    When I call DescribeClusters with:
      """
      Filters: { clusterIds: [cluster-1a23b4cdefg] }
      """
    And I remember "Clusters[0].SubnetMapping."us-west-2a"" of the response as "subnetA"
    And I remember "Clusters[0].SubnetMapping."us-west-2b"" of the response as "subnetB"
    And I call CreateCluster with:
      """
      HsmType: hsm2m.medium, SubnetIds: [$subnetA, $subnetB], SourceBackupId: $b
      """
    And I remember "Cluster.ClusterId" of the response as "newCluster"
    And pending work settles
    And I call CreateHsm with:
      | ClusterId        | $newCluster |
      | AvailabilityZone | us-west-2a  |
    And I call CreateHsm with:
      | ClusterId        | $newCluster |
      | AvailabilityZone | us-west-2b  |
    And pending work settles
    And I disconnect the custom key store "ExampleKeyStore"
    And I run "login --username admin --role admin --password adminPassword1" on cluster "$newCluster" as "admin"
    And I run "user change-password --username kmsuser --role crypto-user --password recoverPass1" on cluster "$newCluster" as "admin"
    And I run "logout" on cluster "$newCluster" as "admin"
    And I call UpdateCustomKeyStore with:
      | CustomKeyStoreId  | $ExampleKeyStore |
      | CloudHsmClusterId | $newCluster      |
      | KeyStorePassword  | recoverPass1     |
    And I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    # The material is back: the key reads its previous state again.
    And the KeyState of "alias/app" is Enabled
    And "$before" decrypts to "before"

  Scenario: a key disabled before its material is deleted reads Disabled again after the recovery
    Given the world "../scenarios/worlds/example.yaml"

    When I wait 1 hour
    And I take a backup of cluster "cluster-1a23b4cdefg" as "b"
    And pending work settles
    And I call DisableKey with:
      | KeyId | alias/app |
    When I disconnect the custom key store "ExampleKeyStore"
    And I run "login --username admin --role admin --password adminPassword1" on cluster "cluster-1a23b4cdefg" as "admin"
    And I run "user change-password --username kmsuser --role crypto-user --password tempPass123" on cluster "cluster-1a23b4cdefg" as "admin"
    And I run "logout" on cluster "cluster-1a23b4cdefg" as "admin"
    And I run "login --username kmsuser --role crypto-user --password tempPass123" on cluster "cluster-1a23b4cdefg" as "kms"
    And I run "key delete --filter attr.label=arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab" on cluster "cluster-1a23b4cdefg" as "kms"
    And I run "logout" on cluster "cluster-1a23b4cdefg" as "kms"
    And I call UpdateCustomKeyStore with:
      | CustomKeyStoreId | $ExampleKeyStore |
      | KeyStorePassword | tempPass123      |
    And I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the KeyState of "alias/app" is Disabled
    When I wait 10 minutes
    Then the KeyState of "alias/app" is Unavailable

    When I call DescribeClusters with:
      """
      Filters: { clusterIds: [cluster-1a23b4cdefg] }
      """
    And I remember "Clusters[0].SubnetMapping."us-west-2a"" of the response as "subnetA"
    And I remember "Clusters[0].SubnetMapping."us-west-2b"" of the response as "subnetB"
    And I call CreateCluster with:
      """
      HsmType: hsm2m.medium, SubnetIds: [$subnetA, $subnetB], SourceBackupId: $b
      """
    And I remember "Cluster.ClusterId" of the response as "newCluster"
    And pending work settles
    And I call CreateHsm with:
      | ClusterId        | $newCluster |
      | AvailabilityZone | us-west-2a  |
    And I call CreateHsm with:
      | ClusterId        | $newCluster |
      | AvailabilityZone | us-west-2b  |
    And pending work settles
    And I disconnect the custom key store "ExampleKeyStore"
    And I run "login --username admin --role admin --password adminPassword1" on cluster "$newCluster" as "admin"
    And I run "user change-password --username kmsuser --role crypto-user --password recoverPass1" on cluster "$newCluster" as "admin"
    And I run "logout" on cluster "$newCluster" as "admin"
    And I call UpdateCustomKeyStore with:
      | CustomKeyStoreId  | $ExampleKeyStore |
      | CloudHsmClusterId | $newCluster      |
      | KeyStorePassword  | recoverPass1     |
    And I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    And the KeyState of "alias/app" is Disabled

  # The console's "Delete key material" button: the same incident without
  # the CLI session, while KMS stays connected. The operator finds the
  # backing key's id in CloudTrail.
  @fault
  Scenario: key material deleted behind a connected store makes its key unusable at once and Unavailable after the delay
    Given the world "../scenarios/worlds/example.yaml"
    When I call ScheduleKeyDeletion with:
      | KeyId               | alias/app |
      | PendingWindowInDays | 7         |
    And I remember "additionalEventData.backingKeys[0].backingKeyId" of the ScheduleKeyDeletion event as "backingKeyId"
    And I call CancelKeyDeletion with:
      | KeyId | alias/app |
    And I call EnableKey with:
      | KeyId | alias/app |
    And I encrypt "before" with "alias/app" as "before"

    When key material "0x${backingKeyId}" is deleted from cluster "cluster-1a23b4cdefg"
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    When I encrypt "after" with "alias/app"
    Then it fails with KMSInvalidStateException "is unavailable."
    When I decrypt "$before"
    Then it fails with KMSInvalidStateException "is unavailable."
    And the KeyState of "alias/app" is Enabled
    When I wait 10 minutes
    Then the KeyState of "alias/app" is Unavailable

    # It is gone: deleting it again finds nothing.
    When key material "0x${backingKeyId}" is deleted from cluster "cluster-1a23b4cdefg"
    Then it fails with CloudHsmResourceNotFoundException "has no key with id"
