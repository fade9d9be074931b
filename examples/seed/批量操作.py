# 批量操作 — from the 0.1.x README, unchanged.
from desam_client import DeSAMClient

client = DeSAMClient(host="localhost", port=50051, api_key="sk-your-api-key")

# 提交多个作业
job_ids = []
for i in range(5):
    jid = client.submit_job(
        name=f"批量作业-{i + 1}", command=f"python batch_process.py --batch {i}", cpu=2, memory_mb=4096
    )
    job_ids.append(jid)

# 批量查询
jobs = client.batch_get_info(job_ids)
print(f"获取到 {len(jobs)} 个作业信息")

# 批量取消
results = client.batch_cancel(job_ids)
for job_id, success in results.items():
    print(f"{job_id}: {'取消成功' if success else '取消失败'}")
